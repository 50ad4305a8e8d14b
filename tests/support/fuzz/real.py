"""The real objects the fuzz world created at setup (accounts, media, publishes, page tokens),
read by the strategies and seeds so that generated requests reach deep code paths."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.support.fuzz.values import HOSTILE_CURSOR_PARTS, b64

# Real objects created at setup, read by the strategies (which are built inside the
# tests, after the module fixture ran).
REAL: dict[str, Any] = {
    "account": [],  # ids; instagram ones first
    "media": [],  # ids; GCS JPEGs first
    "publish": [],  # ids of publishes made at setup
    "platform_of": {},  # account id -> "instagram" / "tiktok"
    "page_tokens": [],  # next_page_tokens the List RPCs really returned
    "page_tokens_by": [],  # (RPC name, token)
    "externals": [],  # external_account_id of the real accounts
}


def id_kind(field_name: str, method: str) -> str | None:
    """Which real objects an id field refers to: from its name, else from the RPC's name."""
    for text in (field_name.lower(), method.lower()):
        for kind in ("account", "media", "publish"):
            if kind in text:
                return kind
    return None


def is_idish(field_name: str) -> bool:
    name = field_name.lower()
    return name == "id" or name.endswith(("_id", "_ids", "ids"))


def real_pool(field_name: str, method: str) -> list[str]:
    kind = id_kind(field_name, method)
    everything = [*REAL["account"], *REAL["media"], *REAL["publish"]]
    assert everything, "real ids are read after the module fixture created them"
    if kind is None:
        return everything
    pool = list(REAL[kind]) or everything
    if kind == "account":
        hint = f"{field_name} {method}".lower()
        preferred = [i for i in pool if REAL["platform_of"].get(i, "?") in hint]
        pool = preferred + pool
    return pool


def forged_tokens(method: str | None = None, per_method: int = 99) -> list[str]:
    """The real page tokens with their cursor parts swapped for hostile ones, keeping the rest
    (e.g. a filter fingerprint) intact, so the forgery gets past the token checks."""
    forged: list[str] = []
    tokens = [t for m, t in REAL["page_tokens_by"] if method in (None, m)][:per_method]
    for token in tokens:
        try:
            payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            continue
        if isinstance(payload, dict):
            payload = list(payload.items())
            rebuild: Any = dict
        elif isinstance(payload, list) and len(payload) > 1:
            rebuild = list
        else:
            continue
        for part in HOSTILE_CURSOR_PARTS:
            for i in range(len(payload) - 1):  # the last part is left alone: a fingerprint, say
                items = list(payload)
                items[i] = (items[i][0], part) if rebuild is dict else part
                forged.append(b64(json.dumps(rebuild(items)).encode()))
    return forged
