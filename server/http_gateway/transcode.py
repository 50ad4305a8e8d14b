"""JSON and query strings to request messages and back, with protobuf's own JSON mapping
(lowerCamelCase out; both lowerCamelCase and proto names in), plus the spec's spellings.

The spec page writes enum values without their type prefix (`privacyLevel:
"PUBLIC_TO_EVERYONE"`, `postMode: "direct"`); the contract's names carry it
(`PRIVACY_LEVEL_PUBLIC_TO_EVERYONE`, `POST_MODE_DIRECT`). Both are accepted, for every
enum field, by the rule read from the enum itself: its values' common prefix may be left
out and the rest may be in any letter case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

_FD = descriptor.FieldDescriptor
_INTEGERS = {
    _FD.TYPE_INT32, _FD.TYPE_INT64, _FD.TYPE_UINT32, _FD.TYPE_UINT64, _FD.TYPE_SINT32,
    _FD.TYPE_SINT64, _FD.TYPE_FIXED32, _FD.TYPE_FIXED64, _FD.TYPE_SFIXED32, _FD.TYPE_SFIXED64,
}  # fmt: skip
# Messages whose JSON form is a string (or number), not an object: left to json_format.
_SCALAR_MESSAGES = {
    "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
    "google.protobuf.StringValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
    "google.protobuf.BoolValue", "google.protobuf.Value", "google.protobuf.Struct",
}  # fmt: skip


# A Timestamp's JSON form (RFC 3339, as protobuf's JSON mapping takes it): date, time and zone.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
TIMESTAMP_EXAMPLE = "2027-01-15T09:30:00Z (UTC) or 2027-01-15T10:30:00+01:00"


class BadRequest(Exception):
    """A request the gateway cannot turn into a message: a 400 naming what is wrong."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _field(message: descriptor.Descriptor, name: str) -> descriptor.FieldDescriptor | None:
    return message.fields_by_camelcase_name.get(name) or message.fields_by_name.get(name)


def _enum_prefix(enum: descriptor.EnumDescriptor) -> str:
    """`POST_MODE_` for POST_MODE_UNSPECIFIED, POST_MODE_DIRECT, POST_MODE_INBOX."""
    names = [value.name for value in enum.values]
    common = min(names, default="")
    for name in names:
        while not name.startswith(common):
            common = common[:-1]
    return common[: common.rfind("_") + 1]


def enum_value(enum: descriptor.EnumDescriptor, given: str) -> str:
    """The contract's name for `given`: itself, or the name with the enum's prefix added
    (`direct` -> `POST_MODE_DIRECT`). Unknown names are returned as given, for json_format
    to refuse with its own message."""
    if given in enum.values_by_name:
        return given
    candidate = _enum_prefix(enum) + given.upper()
    return candidate if candidate in enum.values_by_name else given


def _normalise_value(field: descriptor.FieldDescriptor, value: Any, where: str) -> Any:
    if field.enum_type is not None and isinstance(value, str):
        return enum_value(field.enum_type, value)
    if field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
        _check_timestamp(value, where.rstrip("."))
    if field.message_type is not None and isinstance(value, dict) and not field.message_type.GetOptions().map_entry:
        return normalise(value, field.message_type, where)
    return value


def _check_timestamp(value: Any, name: str) -> None:
    """A time without its zone (or in another shape) is refused naming the field and what
    would do, rather than with json_format's strptime message, which names neither."""
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadRequest(
            f"{name} {shown!r} is not an RFC 3339 timestamp: give the date, the time and the zone, "
            f"e.g. {TIMESTAMP_EXAMPLE}",
            field=name,
        )


def normalise(data: dict[str, Any], message: descriptor.Descriptor, where: str = "") -> dict[str, Any]:
    """`data` with the spec's enum spellings turned into the contract's, recursively."""
    if message.full_name in _SCALAR_MESSAGES:
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = _field(message, key)
        if field is None:
            out[key] = value  # json_format names the unknown field
        elif field.is_repeated and isinstance(value, list):
            out[key] = [_normalise_value(field, item, f"{where}{key}[{i}]") for i, item in enumerate(value)]
        else:
            out[key] = _normalise_value(field, value, f"{where}{key}.")
    return out


def _parse_error(err: json_format.ParseError) -> str:
    """json_format's message without its list of every available field."""
    return str(err).split("\n", 1)[0].strip().rstrip(".")


# The contract's messages nest a few levels (a request, its images, their user tags): a body
# nested deeper is no request of this API, and is refused before anything walks it.
MAX_JSON_DEPTH = 32
# A number no field of the contract can hold (int64 has 19 digits; a double is exact to 17
# significant ones): longer literals are refused rather than converted, which for integers
# costs time quadratic in their length (Python caps them at 4300 digits for that reason).
MAX_NUMBER_CHARS = 40
_TOO_DEEP = f"The request body is nested deeper than {MAX_JSON_DEPTH} levels; no request of this API is"


def _number(kind: type) -> Any:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise BadRequest(
                f"The request body holds a number of {len(literal)} characters ({literal[:12]}...); numbers "
                f"of this API have at most {MAX_NUMBER_CHARS}"
            )
        return kind(literal)

    return parse


def _depth(data: Any) -> int:
    """How deep arrays and objects nest in parsed JSON (iteratively: no recursion limit)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or BadRequest saying what is wrong with it: not
    UTF-8, not JSON, not an object, nested too deep, a number too long."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body.decode("utf-8"), parse_int=_number(int), parse_float=_number(float))
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8 text; send JSON in UTF-8") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise BadRequest(f"The request body is not valid JSON ({err.msg} at {where})") from None
    except RecursionError:  # the parser's own nesting limit, reached before ours could be
        raise BadRequest(_TOO_DEEP) from None
    if not isinstance(data, dict):
        raise BadRequest(f"The request body must be a JSON object, not {type(data).__name__}")
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadRequest(_TOO_DEEP)
    return data


def _query_value(field: descriptor.FieldDescriptor, name: str, text: str) -> Any:
    if field.type == _FD.TYPE_BOOL:
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise BadRequest(f"Query parameter {name}={text!r} must be true or false", field=name)
    if field.type in _INTEGERS:
        try:
            return int(text)
        except ValueError:
            raise BadRequest(f"Query parameter {name}={text!r} must be a whole number", field=name) from None
    if field.type in (_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE):
        return text  # json_format reads numbers from strings
    if field.message_type is not None and field.message_type.full_name not in _SCALAR_MESSAGES:
        raise BadRequest(f"Query parameter {name} names a message; send it in a JSON body", field=name)
    return text


def query_fields(query: Iterable[tuple[str, str]], message: descriptor.Descriptor) -> dict[str, Any]:
    """Query parameters as a JSON object of the request (AIP-127: every field not bound by
    the path or the body; a repeated field by repeating the parameter)."""
    data: dict[str, Any] = {}
    for name, text in query:
        field = _field(message, name)
        if field is None:
            known = ", ".join(f.camelcase_name for f in message.fields)
            raise BadRequest(f"Unknown query parameter {name!r}; {message.name} takes {known}", field=name)
        value = _query_value(field, name, text)
        if field.is_repeated:
            data.setdefault(field.json_name, []).append(value)
        else:
            data[field.json_name] = value
    return data


def to_message(data: dict[str, Any], message_class: Any, bound: Mapping[str, str]) -> Message:
    """The request message from its JSON object and the fields bound by the path or headers
    (which must agree with the body when both give one)."""
    message_descriptor: descriptor.Descriptor = message_class.DESCRIPTOR
    for name, value in bound.items():
        field = message_descriptor.fields_by_name[name]
        for key in (field.json_name, field.name):
            if key in data and data[key] != value:
                raise BadRequest(
                    f"{field.json_name} is {data[key]!r} in the body but {value!r} in the "
                    f"{'path' if name != 'request_id' else 'Idempotency-Key header'}; send one",
                    field=field.json_name,
                )
            data.pop(key, None)
        data[field.json_name] = value
    request: Message = message_class()
    try:
        json_format.ParseDict(normalise(data, message_descriptor), request, ignore_unknown_fields=False)
    except json_format.ParseError as err:
        raise BadRequest(f"Invalid {message_descriptor.name}: {_parse_error(err)}") from None
    return request


def to_json(message: Message) -> dict[str, Any]:
    """The response in protobuf's JSON mapping, every field printed (an empty
    `tiktokMediaId` or `permalink` is shown as "", as the spec's response shows the field)."""
    data = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    # json_format prints set fields first and defaulted ones after: back to the contract's
    # order, which is the spec's (tiktokPublishId, publishId, tiktokMediaId, imageCount).
    return {f.json_name: data[f.json_name] for f in message.DESCRIPTOR.fields if f.json_name in data}
