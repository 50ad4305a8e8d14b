"""Graph request parameters: typed reads of the merged parameters and the ``fields`` syntax.

Parameters arrive as strings (query, form) or JSON values (JSON body); every reader accepts
both, the way Graph does, and answers a code 100 GraphError for a value it cannot take.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from server.sandbox.instagram.errors import param_error

Params = dict[str, Any]
Fields = dict[str, "Fields | None"]

_LIST_KEY_RE = re.compile(r"(.+)\[[0-9]*\]")


def collect(items: Iterable[tuple[str, str]]) -> Params:
    """Merges repeated ``name[]``/``name[N]`` keys into a list; otherwise the first value wins."""
    out: Params = {}
    for key, value in items:
        match = _LIST_KEY_RE.fullmatch(key)
        if match:
            out.setdefault(match.group(1), [])
            if isinstance(out[match.group(1)], list):
                out[match.group(1)].append(value)
        else:
            out.setdefault(key, value)
    return out


def str_param(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise param_error(f"Param {name} must be a string.")


def bool_param(params: Params, name: str) -> bool:
    value = params.get(name)
    if value is None or value is False or value == "":
        return False
    if value is True:
        return True
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise param_error(f"Param {name} must be a boolean.")


def int_param(params: Params, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise param_error(f"Param {name} must be an integer.")
    try:
        return int(str(value).strip())
    except ValueError:
        raise param_error(f"Param {name} must be an integer.") from None


def id_list_param(params: Params, name: str) -> list[str]:
    """A comma-separated string, a JSON array (as a string or a real array) or a list."""
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise param_error(f"Param {name} must be a list of ids.") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise param_error(f"Param {name} must be a list of ids.")
    return [str(v).strip() for v in value if str(v).strip()]


def parse_fields(raw: Any) -> Fields:
    """Graph ``fields`` syntax: ``a,b{c,d},e`` -> {"a": None, "b": {"c": None, "d": None}, ...}."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        raw = ",".join(str(v) for v in raw)
    fields, _ = _parse_field_list(str(raw), 0, nested=False)
    return fields


def _parse_field_list(text: str, pos: int, *, nested: bool) -> tuple[Fields, int]:
    out: Fields = {}
    name, sub = "", None
    while pos < len(text):
        char = text[pos]
        if char == ",":
            _add_field(out, name, sub)
            name, sub = "", None
            pos += 1
        elif char == "{":
            if sub is not None or not name.strip():
                raise param_error(f"Syntax error in fields: {text!r}")
            sub, pos = _parse_field_list(text, pos + 1, nested=True)
        elif char == "}":
            if not nested:
                raise param_error(f"Syntax error in fields: {text!r}")
            _add_field(out, name, sub)
            return out, pos + 1
        else:
            if sub is not None and not char.isspace():
                raise param_error(f"Syntax error in fields: {text!r}")
            name += char
            pos += 1
    if nested:
        raise param_error(f"Syntax error in fields: {text!r}")
    _add_field(out, name, sub)
    return out, pos


def _add_field(out: Fields, name: str, sub: Fields | None) -> None:
    if name.strip():
        out[name.strip()] = sub
