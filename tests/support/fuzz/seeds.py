"""A deterministic sweep run before the random draws, so the known-nasty inputs reach deep
code paths on every run: a plausible request (real ids where the field name asks for an
id), then that request with one field at a time replaced by each hostile value."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor as _descriptor
from google.protobuf import message_factory

from tests.support.fuzz.real import REAL, forged_tokens, is_idish, real_pool
from tests.support.fuzz.rpcs import Rpc
from tests.support.fuzz.strategies import set_field
from tests.support.fuzz.values import (
    FD,
    FIXED_REQUEST_IDS,
    HOSTILE_TOKENS,
    INT32,
    INT64,
    TIMESTAMP_MAX,
    TIMESTAMP_MIN,
)

SEED_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\r\n\t\x1f\x7f",
    "\u202e\u200fabc\u200e",
    "\U0001d518\U0001f600\U0010ffff",
    "' OR 1=1 --",
    "../../etc/passwd",
    "file:///etc/passwd",
    "gs://",
    "s3://b/k.jpg",
    "https://u:p@h/x.jpg",
    "https://[::1/x.jpg",
    "https://h:99999/x.jpg",
    "\u0661\u0662\u0663",
    " ".join(f"#t{i}" for i in range(31)),
    "x" * 200_000,
    "\U0001f600" * 50_000,
    FIXED_REQUEST_IDS[0],
    FIXED_REQUEST_IDS[0].upper(),
    *HOSTILE_TOKENS,
]
SEED_INTS = [0, 1, -1, 2, 10, 11, 35, 36, 1000, 1001]
SEED_TIMESTAMPS = [
    (0, 0), (TIMESTAMP_MIN, 0), (TIMESTAMP_MAX, 999_999_999), (TIMESTAMP_MIN - 1, 0), (TIMESTAMP_MAX + 1, 0),
    (-30_000_000_000, 0),  # year 1019
    (-30_700_000_000, 0),  # year 997
    (0, -1), (0, 1_000_000_000), (INT64[0], INT32[0]), (INT64[1], INT32[1]),
]


def plausible_string(f: FD, method: str) -> str:
    """What a well-behaved client would put in a string field, judged by its name."""
    name = f.name.lower()
    if "external" in name:
        return REAL["externals"][0]
    if name in ("page_token", "request_id"):
        return ""
    if is_idish(name):
        return real_pool(f.name, method)[0]
    if "url" in name:
        return "gs://fuzz-bucket/seed/photo.jpg"
    if "token" in name:
        return "seed-token"
    return ""


def plausible_request(desc: _descriptor.Descriptor, method: str) -> Any:
    message = message_factory.GetMessageClass(desc)()
    for f in desc.fields:
        if f.type == FD.TYPE_STRING:
            if f.is_repeated:
                set_field(message, f, real_pool(f.name, method)[:3])
            elif value := plausible_string(f, method):
                set_field(message, f, value)
        elif f.cpp_type == FD.CPPTYPE_ENUM and not f.is_repeated:
            numbers = sorted(v.number for v in f.enum_type.values)
            set_field(message, f, numbers[min(1, len(numbers) - 1)])  # the first specified value
        elif f.cpp_type == FD.CPPTYPE_BOOL and not f.is_repeated and f.name.startswith("allow_"):
            # e.g. allow_duplicate: the seeds share most fields, and should all get to the platform.
            set_field(message, f, True)
    return message


def seed_values(f: FD, method: str) -> list[Any]:
    if f.cpp_type == FD.CPPTYPE_MESSAGE:
        if f.is_repeated or f.message_type.full_name != "google.protobuf.Timestamp":
            return []
        cls = message_factory.GetMessageClass(f.message_type)
        return [cls(seconds=sec, nanos=nan) for sec, nan in SEED_TIMESTAMPS]
    if f.type == FD.TYPE_STRING:
        if not f.is_repeated:
            return SEED_STRINGS + (forged_tokens(method, per_method=2) if "token" in f.name.lower() else [])
        ids = real_pool(f.name, method)
        everything = [*REAL["account"], *REAL["media"], *REAL["publish"]]
        return [
            [],
            ids[:1],
            ids[:2],
            ids[:10],
            (ids * 50)[:36],
            [ids[0]] * 3,
            (everything * 1000)[:10_000],
            [ids[0], "not-a-uuid", ids[1]],
            [ids[0], FIXED_REQUEST_IDS[2], ids[1]],
            [ids[0], "\x00", ids[1], "x" * 50_000],
            [ids[0], HOSTILE_TOKENS[0]],
            [ids[0], ids[1].upper()],
        ]
    if f.is_repeated:
        return []
    if f.cpp_type == FD.CPPTYPE_ENUM:
        known = {v.number for v in f.enum_type.values}
        return sorted(known) + [v for v in (999, -1, 2**31 - 1, -(2**31)) if v not in known]
    if f.cpp_type in (FD.CPPTYPE_INT32, FD.CPPTYPE_INT64):
        bounds = INT32 if f.cpp_type == FD.CPPTYPE_INT32 else INT64
        return [*SEED_INTS, *bounds]
    if f.cpp_type == FD.CPPTYPE_BOOL:
        return [False, True]
    return []


def seed_requests(rpc: Rpc) -> list[Any]:
    base = plausible_request(rpc.input, rpc.name)
    seeds = [base, type(base)()]
    for f in rpc.input.fields:
        for value in seed_values(f, rpc.name):
            message = type(base)()
            message.CopyFrom(base)
            set_field(message, f, value)
            seeds.append(message)
    return seeds
