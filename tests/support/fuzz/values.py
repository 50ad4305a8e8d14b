"""Known-nasty values: hostile strings, page-token-shaped junk, integer and timestamp bounds."""

from __future__ import annotations

import base64
from typing import Any

from google.protobuf import descriptor as _descriptor
from hypothesis import strategies as st

from server.domain.pagination import Cursor, encode_token
from server.grpc_api.server import MAX_MESSAGE_BYTES

FD = _descriptor.FieldDescriptor
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
TIMESTAMP_MIN, TIMESTAMP_MAX = -62135596800, 253402300799  # 0001-01-01 .. 9999-12-31T23:59:59

FIXED_REQUEST_IDS = [
    "3f6c1d2e-8a4b-4c7d-9e0f-1a2b3c4d5e6f",
    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "00000000-0000-0000-0000-000000000000",
]
JUNK = [
    "' OR 1=1 --",
    "'; DROP TABLE media; --",
    '" OR ""="',
    "%' AND 1=0 UNION SELECT * FROM accounts --",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "file:///etc/passwd",
    "gs://",
    "gs://bucket",
    "gs://bucket/",
    "s3://b/k.jpg",
    "s3://",
    "https://u:p@h/x.jpg",
    "https://:@h/x.jpg",
    "https://h:99999/x.jpg",
    "https://h:-1/x.jpg",
    "https://[::1/x.jpg",
    "https://[zz]/x.jpg",
    "https://storage.googleapis.com/",
    "https://storage.googleapis.com/b/o.webp",
    "https://b.s3.amazonaws.com/k.jpeg",
    "https://b.s3-eu-west-1.amazonaws.com/k.webp",
    "https://cdn.example.com/clip.mp4",
    "https://cdn.example.com/x.JPG?x=1#frag",
    "https://cdn.example.com/%2e%2e/%00.jpg",
    "https://unreachable.example.com/a.jpg",
    "https://host.invalid/a.jpg",
    "https://cdn.example.com/photo-1x1000000.jpg",
    "https://cdn.example.com/photo-0x0.jpg",
    "http://cdn.example.com/a.jpg",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "image/jpeg",
    "image/webp",
    "video/mp4",
    "IMAGE/JPEG ",
    "image/",
    "/",
    "text/plain",
    "application/octet-stream",
    "image/" + "x" * 200,
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "null",
    "NaN",
    "-0",
    "1e309",
    "17841400000000001",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() but not ASCII
    "\u00b2\u00b3",
    "#tag @user",
    " ".join(f"#t{i}" for i in range(31)),
    " ".join(f"@u{i}" for i in range(21)),
    "Bearer x",
    "\x00",
    "a\x00b",
    "\r\n\t",
    "\u202e\u200f\u200e",  # RTL override, RLM, LRM
    "\ufeff",
    "\u2028\u2029",
    "\U0001d518\U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0010ffff",
    "e\u0301" * 50,
    "",
    " ",
    "=",
    "====",
]
SPECIAL_CHARS = st.sampled_from(
    ["\x00", "\x01", "\x1f", "\x7f", "\x85", "\u200b", "\u200d", "\u202e", "\u200f", "\ufeff", "\ufffd",
     "\U0001f600", "\U0001d518", "\U0010ffff", "'", '"', "\\", "/", "%", "#", "@", "?", ":", " ", "\n"]
)
CHARS = st.one_of(st.characters(codec="utf-8"), SPECIAL_CHARS)  # protobuf strings cannot hold surrogates
SHORT_TEXT = st.text(CHARS, max_size=40)
ASCII_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Page-token shaped values: deep JSON nesting, and well-formed tokens (right filter
# fingerprint) whose cursor holds what the store cannot take (lone surrogates, NUL).
ACCOUNT_FILTERS = [
    {"platform": p, "show_disconnected": d} for p in (None, "INSTAGRAM", "TIKTOK") for d in (False, True)
]
HOSTILE_TOKENS = [
    b64(b"[" * 100_000),
    b64(b'{"a":' * 50_000),
    b64(b'["\\ud800","x","y"]'),
    *(encode_token(Cursor("\ud800", "\udfff"), f) for f in [{}, *ACCOUNT_FILTERS]),
    *(encode_token(Cursor("\x00' OR 1=1 --", "../../etc/passwd"), f) for f in [{}, *ACCOUNT_FILTERS]),
    *(encode_token(Cursor("9" * 5000, ""), f) for f in [{}, ACCOUNT_FILTERS[0]]),
]
# Over the server's receive limit even as 1-byte characters.
OVERSIZED = st.integers(MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES + 100_000).map(lambda n: "A" * n)
UNSET = object()

HOSTILE_CURSOR_PARTS: list[Any] = [
    "\ud800", "\x00", "' OR 1=1 --", "9" * 5000, "", "9999-99-99T99:99:99.999999Z", 1, None, [], {"a": 1},
]
