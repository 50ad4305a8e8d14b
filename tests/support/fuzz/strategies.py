"""Hypothesis strategies that build any request message from its descriptor: each field
unset or drawn from a strategy for its type and name."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import descriptor as _descriptor
from google.protobuf import message_factory
from hypothesis import strategies as st

from server.domain.pagination import Cursor, encode_token
from tests.support.fuzz.real import REAL, forged_tokens, is_idish, real_pool
from tests.support.fuzz.values import (
    ACCOUNT_FILTERS,
    ASCII_TEXT,
    FD,
    FIXED_REQUEST_IDS,
    HOSTILE_TOKENS,
    INT32,
    INT64,
    JUNK,
    OVERSIZED,
    SHORT_TEXT,
    SPECIAL_CHARS,
    TIMESTAMP_MAX,
    TIMESTAMP_MIN,
    UINT32,
    UINT64,
    UNSET,
)


def uuid_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map(lambda u: f"{{{u}}}"),
        st.uuids().map(lambda u: f" {u} "),
        st.uuids().map(lambda u: f"urn:uuid:{u}"),
        st.sampled_from(FIXED_REQUEST_IDS),
    )


def real_ids(field_name: str, method: str) -> st.SearchStrategy[str]:
    def build() -> st.SearchStrategy[str]:
        pool = real_pool(field_name, method)
        everything = [*REAL["account"], *REAL["media"], *REAL["publish"]]
        return st.one_of(st.sampled_from(pool), st.sampled_from(pool), st.sampled_from(everything))

    return st.deferred(build)


def real_id_variants(field_name: str, method: str) -> st.SearchStrategy[str]:
    real = real_ids(field_name, method)
    return st.one_of(
        real,
        real,
        real,
        real.map(str.upper),
        real.map(lambda s: s + " "),
        real.map(lambda s: s[:-1]),
        real.map(lambda s: s + "\x00"),
    )


def page_tokens() -> st.SearchStrategy[str]:
    """Real tokens, and tokens shaped like real ones around hostile cursors."""
    real = st.deferred(lambda: st.sampled_from(REAL["page_tokens"] or [""]))
    forged = st.deferred(lambda: st.sampled_from(forged_tokens() or [""]))
    filters = st.sampled_from([{}, *ACCOUNT_FILTERS])
    # May hold lone surrogates (JSON escapes them as \udXXX), NUL and astral characters.
    any_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]), SPECIAL_CHARS), max_size=30)
    crafted = st.builds(lambda c, i, f: encode_token(Cursor(c, i), f), any_text, any_text, filters)
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3),
        max_leaves=8,
    )
    payloads = st.one_of(
        st.sampled_from([b"[]", b"[1,2,3]", b'["a","b"]', b'["a","b","c","d"]', b'{"a":1,"b":2,"c":3}',
                         b"null", b"1e999999", b"\xff\xfe", b"\x00", b"[" * 100_000]),
        st.binary(max_size=60),
        json_values.map(lambda x: json.dumps(x).encode()),
    )
    b64 = st.builds(lambda raw, pad: base64.urlsafe_b64encode(raw).decode().rstrip("" if pad else "="),
                    payloads, st.booleans())
    return st.one_of(real, real, forged, forged, crafted, b64, b64, st.sampled_from(HOSTILE_TOKENS))


def huge(max_len: int = 200_000) -> st.SearchStrategy[str]:
    return st.builds(
        lambda chunk, n: (chunk * (n // max(len(chunk), 1) + 1))[:n],
        st.one_of(
            st.sampled_from(["x", "#t ", "@u ", "\U0001f600", "\x00", "\u202e", "\u00e9"]), SHORT_TEXT.filter(bool)
        ),
        st.integers(1_000, max_len),
    )


def string_strategy(field_name: str, method: str, small: bool = False) -> st.SearchStrategy[str]:
    name = field_name.lower()
    branches: list[st.SearchStrategy[str]] = [
        SHORT_TEXT,
        SHORT_TEXT,
        ASCII_TEXT,
        st.sampled_from(JUNK),
        st.sampled_from(JUNK),
        st.lists(st.one_of(st.sampled_from(JUNK), SHORT_TEXT, uuid_strings()), min_size=2, max_size=4).map("".join),
        uuid_strings(),
        real_id_variants(field_name, method),
        st.deferred(lambda: st.sampled_from(REAL["externals"])),
        page_tokens(),
    ]
    if is_idish(name):
        branches += [real_ids(field_name, method)] * 8 + [real_id_variants(field_name, method)] * 2
        branches += [uuid_strings()] * 2
    if "token" in name:
        branches += [page_tokens()] * 4 + [ASCII_TEXT] * 2
    if "url" in name:
        branches += [st.sampled_from([j for j in JUNK if ":" in j])] * 3
        branches.append(
            st.builds(
                lambda scheme, host, path, ext: f"{scheme}{host}/{path}{ext}",
                st.sampled_from(["gs://", "s3://", "https://", "http://", "ftp://", "", "https://u@"]),
                st.sampled_from(["b", "storage.googleapis.com", "x.s3.amazonaws.com", "unreachable.example.com",
                                 "h.invalid", "[::1]", "127.0.0.1:1", "\u00fcn\u00efcode.example", "a" * 300]),
                SHORT_TEXT,
                st.sampled_from([".jpg", ".jpeg", ".png", ".webp", ".mp4", ".mov", ".gif", ".heic", "", ".exe"]),
            )
        )
    if not small:
        # Rarely over the 1 MiB receive limit; mostly large but acceptable to gRPC.
        branches += [huge(), st.one_of(huge(2_500), huge(5_000), huge(), huge(), OVERSIZED)]
    return st.sampled_from(branches).flatmap(lambda s: s)


def int_strategy(bounds: tuple[int, int]) -> st.SearchStrategy[int]:
    lo, hi = bounds
    edges = sorted({v for v in (0, 1, -1, 2, 3, 9, 10, 11, 34, 35, 36, 50, 64, 65, 1000, 1001, lo, lo + 1, hi, hi - 1)
                    if lo <= v <= hi})
    return st.one_of(st.sampled_from(edges), st.sampled_from(edges), st.integers(lo, hi))


def enum_strategy(enum: _descriptor.EnumDescriptor) -> st.SearchStrategy[int]:
    valid = [v.number for v in enum.values]
    invalid = [v for v in (999, -1, 2**31 - 1, -(2**31), max(valid) + 1) if v not in set(valid)]
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(invalid))


def timestamp_strategy(cls: type) -> st.SearchStrategy[Any]:
    seconds = st.one_of(
        st.integers(TIMESTAMP_MIN, TIMESTAMP_MAX),
        st.integers(-1_000_000_000, 4_102_444_800),  # 1938 .. 2100
        st.sampled_from([0, -1, 1, TIMESTAMP_MIN, TIMESTAMP_MAX, TIMESTAMP_MIN - 1, TIMESTAMP_MAX + 1]),
        st.sampled_from([INT64[0], INT64[1]]),
        st.integers(*INT64),
    )
    nanos = st.one_of(
        st.integers(0, 999_999_999),
        st.sampled_from([0, 999_999_999, 1_000_000_000, -1, INT32[0], INT32[1]]),
    )
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def scalar_strategy(f: FD, method: str, small: bool = False) -> st.SearchStrategy[Any]:
    cpp = f.cpp_type
    if cpp == FD.CPPTYPE_STRING:
        if f.type == FD.TYPE_BYTES:
            return st.one_of(st.binary(max_size=64), string_strategy(f.name, method, small).map(str.encode))
        return string_strategy(f.name, method, small)
    if cpp == FD.CPPTYPE_INT32:
        return int_strategy(INT32)
    if cpp == FD.CPPTYPE_INT64:
        return int_strategy(INT64)
    if cpp == FD.CPPTYPE_UINT32:
        return int_strategy(UINT32)
    if cpp == FD.CPPTYPE_UINT64:
        return int_strategy(UINT64)
    if cpp == FD.CPPTYPE_BOOL:
        return st.booleans()
    if cpp in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
        return st.floats(width=32 if cpp == FD.CPPTYPE_FLOAT else 64)
    if cpp == FD.CPPTYPE_ENUM:
        return enum_strategy(f.enum_type)
    raise AssertionError(f"unhandled field type {cpp} of {f.full_name}")


def bulk(element: st.SearchStrategy[Any], n: int = 10_000) -> st.SearchStrategy[list[Any]]:
    """n items cycling a few drawn ones: a big request without drawing 10,000 values."""
    return st.lists(element, min_size=1, max_size=5).map(lambda pattern: (pattern * (n // len(pattern) + 1))[:n])


def field_strategy(f: FD, method: str, depth: int) -> st.SearchStrategy[Any]:
    if f.cpp_type == FD.CPPTYPE_MESSAGE:
        if f.message_type.GetOptions().map_entry:
            key = scalar_strategy(f.message_type.fields_by_name["key"], method, small=True)
            value = field_strategy(f.message_type.fields_by_name["value"], method, depth + 1)
            return st.dictionaries(key, value, max_size=5)
        element = message_strategy(f.message_type, method, depth + 1)
        return st.lists(element, max_size=5) if f.is_repeated else element
    if not f.is_repeated:
        return scalar_strategy(f, method)
    small = scalar_strategy(f, method, small=True)
    branches = [
        st.just([]),
        st.lists(small, min_size=1, max_size=40),
        st.lists(small, min_size=1, max_size=12),
        bulk(small),  # 10,000 items
        st.lists(scalar_strategy(f, method), min_size=1, max_size=3),  # may hold a huge item
    ]
    if f.type == FD.TYPE_STRING:
        real = real_ids(f.name, method)
        branches += [st.lists(real, min_size=1, max_size=12)] * 3  # get past the shape checks
        branches.append(bulk(real))
        branches.append(  # real ids with one bad apple
            st.lists(real, min_size=2, max_size=12).flatmap(
                lambda ids: st.tuples(st.integers(0, len(ids) - 1), small).map(
                    lambda bad: [*ids[: bad[0]], bad[1], *ids[bad[0] + 1:]]
                )
            )
        )
    return st.sampled_from(branches).flatmap(lambda s: s)


_MESSAGE_STRATEGIES: dict[tuple[str, str, int], st.SearchStrategy[Any]] = {}


def message_strategy(desc: _descriptor.Descriptor, method: str, depth: int = 0) -> st.SearchStrategy[Any]:
    key = (desc.full_name, method, depth)
    if key in _MESSAGE_STRATEGIES:
        return _MESSAGE_STRATEGIES[key]
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.Timestamp":
        strategy = timestamp_strategy(cls)
    elif depth > 3:
        strategy = st.just(cls())
    else:
        fields = {f.name: st.one_of(st.just(UNSET), field_strategy(f, method, depth)) for f in desc.fields}
        strategy = st.fixed_dictionaries(fields).map(lambda values: build_message(cls, desc, values))
    _MESSAGE_STRATEGIES[key] = strategy
    return strategy


def set_field(message: Any, f: FD, value: Any) -> None:
    message.ClearField(f.name)
    target = getattr(message, f.name)
    if f.cpp_type == FD.CPPTYPE_MESSAGE and f.message_type.GetOptions().map_entry:
        value_is_message = f.message_type.fields_by_name["value"].cpp_type == FD.CPPTYPE_MESSAGE
        for k, v in value.items():
            if value_is_message:
                target[k].CopyFrom(v)
            else:
                target[k] = v
    elif f.is_repeated and f.cpp_type == FD.CPPTYPE_MESSAGE:
        for item in value:
            target.add().CopyFrom(item)
    elif f.is_repeated:
        target.extend(value)
    elif f.cpp_type == FD.CPPTYPE_MESSAGE:
        target.CopyFrom(value)
    else:
        setattr(message, f.name, value)


def build_message(cls: type, desc: _descriptor.Descriptor, values: dict[str, Any]) -> Any:
    message = cls()
    for name, value in values.items():
        if value is not UNSET:
            set_field(message, desc.fields_by_name[name], value)
    return message
