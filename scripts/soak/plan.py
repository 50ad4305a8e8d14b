"""The seeded plan: which publishes, on which accounts, with which media and options; the
fault rules for each endpoint; and what each caller was finally told (Outcome)."""

from __future__ import annotations

import argparse
import collections
import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

INSTAGRAM_ENDPOINTS = (
    "create_container", "container_status", "batch_status", "media_publish",
    "media_read", "media_list", "publishing_limit", "token_refresh",
)
TIKTOK_ENDPOINTS = ("creator_info", "init", "status", "token")
# The calls that change what people see: the duplicate traps.
LIVE_ENDPOINTS = {"media_publish", "init"}


@dataclass
class Planned:
    index: int
    platform: str  # "instagram" | "tiktok"
    request_id: str
    account: int  # index into the platform's accounts
    media: list[int]  # indexes into the media pool
    caption: str
    post_mode: str = "DIRECT"
    privacy_level: str = "SELF_ONLY"
    cover_index: int = 0


@dataclass
class Outcome:
    """What the caller was finally told."""

    kind: str = "none"  # ok | error | no_answer
    state: str = ""  # the publish state the answer carried (ok), or the record's (error)
    code: str = ""
    reason: str = ""
    message: str = ""
    publish_id: str = ""
    attempts: int = 0
    codes_seen: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0


def fault_rules(endpoints: tuple[str, ...], rate: float, stall: float) -> list[dict[str, Any]]:
    """`rate` of each endpoint's calls get a fault, split among the kinds."""
    if rate <= 0:
        return []
    rules = []
    for endpoint in endpoints:
        live = endpoint in LIVE_ENDPOINTS
        mix: list[tuple[dict[str, Any], float]] = [
            ({"kind": "5xx"}, 0.25 if live else 0.35),
            ({"kind": "429", "retry_after": 1}, 0.20),
            ({"kind": "reset"}, 0.15),
            ({"kind": "reset", "after_serving": True}, 0.10),
            ({"kind": "timeout", "stall_seconds": stall}, 0.10),
            ({"kind": "timeout", "after_serving": True, "stall_seconds": stall}, 0.10),
        ]
        if live:
            mix.append(({"kind": "error_after_live"}, 0.10))
        for body, share in mix:
            rules.append({"endpoint": endpoint, "rate": round(rate * share, 6), **body})
    return rules


@dataclass
class Plan:
    requests: list[Planned]
    instagram_accounts: int
    tiktok_accounts: int


def plan(args: argparse.Namespace, rng: random.Random) -> Plan:
    n = args.publishes
    n_ig = n // 2 + n % 2
    n_tt = n // 2
    platforms = ["instagram"] * n_ig + ["tiktok"] * n_tt
    rng.shuffle(platforms)
    ig_accounts = max(1, math.ceil(n_ig / args.ig_per_account))
    tt_accounts = max(1, math.ceil(n_tt / args.tiktok_per_account))
    seen = {"instagram": 0, "tiktok": 0}
    out = []
    for index, platform in enumerate(platforms):
        k = seen[platform]
        seen[platform] += 1
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        count = rng.randint(2, min(5, args.media_pool))
        media = rng.sample(range(args.media_pool), count)
        per = args.ig_per_account if platform == "instagram" else args.tiktok_per_account
        item = Planned(
            index=index,
            platform=platform,
            request_id=request_id,
            account=k // per,
            media=media,
            caption=f"soak {args.seed}/{index} {request_id}",  # <= 90 UTF-16 units for TikTok
        )
        if platform == "tiktok":
            roll = rng.random()
            if roll < 0.15:
                item.post_mode = "INBOX"
                item.privacy_level = ""
            elif roll < 0.30:
                item.privacy_level = "PUBLIC_TO_EVERYONE"
            item.cover_index = rng.randrange(count)
        out.append(item)
    return Plan(out, ig_accounts, tt_accounts)
