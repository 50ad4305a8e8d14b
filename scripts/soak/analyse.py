"""The records checked against what the emulators actually posted: duplicates, lost
publishes, mismatches, and notes (unconfirmed, failed, refused). No I/O: everything comes in
as `Evidence`, and the report is a plain dict (the JSON the soak writes).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distribution.v1 import account_pb2, publish_pb2

from scripts.soak.plan import LIVE_ENDPOINTS, Outcome, Plan, Planned

STATE_NAMES = {v: k.removeprefix("PUBLISH_STATE_") for k, v in publish_pb2.PublishState.items()}
TERMINAL = {"PUBLISHED", "DELIVERED_TO_INBOX", "FAILED", "UNCONFIRMED"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Where each emulator's post carries the caption (with the request_id in it), and its id.
TEXT_KEY = {"instagram": "caption", "tiktok": "title"}
ID_KEY = {"instagram": "id", "tiktok": "publish_id"}


@dataclass
class Evidence:
    """What the run saw."""

    args: argparse.Namespace
    plan: Plan
    outcomes: dict[str, Outcome]  # request_id -> what its caller was finally told
    records: list[Any]  # every distribution.v1.Publish the service lists, after settling
    posts: dict[str, list[dict[str, Any]]]  # platform -> the emulator's posts
    stats: dict[str, dict[str, Any]]  # platform -> the emulator's duplicate detector
    faults: dict[str, Any]  # platform -> the emulator's fault snapshot when faults went off
    kills: list[float]
    unexpected_exits: list[dict[str, Any]]
    restarts_failed: int
    service_log: Path
    workdir: Path


def analyse(evidence: Evidence) -> dict[str, Any]:
    """The report. Each problem entry has an empty "timelines" list, for the caller to fill
    with the GetPublish timelines of its "publish_ids"."""
    return Analysis(evidence).report()


def is_live(post: dict[str, Any]) -> bool:
    return post["platform"] == "instagram" or post.get("status") != "FAILED"


def post_id(post: dict[str, Any]) -> Any:
    return post.get("id") or post.get("publish_id")


class Problems:
    """Duplicates, lost publishes and mismatches, one entry per request, in the order found."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, request_id: str, why: str, record: Any = None) -> None:
        entry = self.entries.setdefault(
            request_id or f"no-request-{len(self.entries)}",
            {"request_id": request_id, "kinds": [], "why": [], "publish_ids": []},
        )
        if kind not in entry["kinds"]:
            entry["kinds"].append(kind)
        entry["why"].append(why)
        if record is not None and record.id not in entry["publish_ids"]:
            entry["publish_ids"].append(record.id)

    def request_ids(self, kind: str) -> list[str]:
        return sorted(rid for rid, p in self.entries.items() if kind in p["kinds"])


class Analysis:
    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.requests = evidence.plan.requests
        self.problems = Problems()
        self.by_rid: dict[str, Planned] = {r.request_id: r for r in self.requests}
        self.recs_by_rid: dict[str, list[Any]] = collections.defaultdict(list)
        self.stray_records: list[Any] = []
        for rec in evidence.records:
            if rec.request_id in self.by_rid:
                self.recs_by_rid[rec.request_id].append(rec)
            else:
                self.stray_records.append(rec)
        self.posts_by_rid: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self.orphan_posts: list[dict[str, Any]] = []
        for platform in ("instagram", "tiktok"):
            for found in evidence.posts[platform]:
                post = {"platform": platform, **found}
                match = UUID_RE.search(post.get(TEXT_KEY[platform]) or "")
                if match and match.group(0) in self.by_rid:
                    self.posts_by_rid[match.group(0)].append(post)
                else:
                    self.orphan_posts.append(post)

    def live_posts(self, request_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posts_by_rid.get(request_id, []) if is_live(p)]

    # --- duplicates -----------------------------------------------------------------------

    def duplicates(self) -> dict[str, Any]:
        shared: dict[tuple[str, str], list[Any]] = collections.defaultdict(list)
        for rec in self.evidence.records:
            if rec.platform == account_pb2.PLATFORM_INSTAGRAM and rec.ig_media_id:
                shared[("instagram", rec.ig_media_id)].append(rec)
            if rec.platform == account_pb2.PLATFORM_TIKTOK and rec.tiktok_publish_id:
                shared[("tiktok", rec.tiktok_publish_id)].append(rec)
        sharing = 0
        for (platform, shared_id), recs in shared.items():
            if len(recs) > 1:
                sharing += len(recs) - 1
                for rec in recs:
                    self.problems.add("duplicate", rec.request_id,
                                      f"{len(recs)} records name the same {platform} post {shared_id}", rec)
        posted_twice = 0
        for rid in self.posts_by_rid:
            lives = self.live_posts(rid)
            if len(lives) > 1:
                posted_twice += 1
                ids = [post_id(p) for p in lives]
                self.problems.add("duplicate", rid, f"posted {len(lives)} times on {lives[0]['platform']}: {ids}")
        self.several_records = self.several_extra = 0
        for rid, recs in self.recs_by_rid.items():
            if len(recs) > 1:
                self.several_records += 1
                self.several_extra += len(recs) - 1
                for rec in recs:
                    self.problems.add("duplicate", rid, f"request_id has {len(recs)} records", rec)
        unattributed = self._emulator_duplicate_groups()
        self.duplicates_total = len(self.problems.request_ids("duplicate")) + unattributed
        return {
            "total": self.duplicates_total,
            "emulator_duplicate_posts": {p: self.evidence.stats[p]["duplicate_posts"] for p in ("instagram", "tiktok")},
            "records_sharing_a_post": sharing,
            "requests_posted_more_than_once": posted_twice,
            "requests_with_several_records": self.several_records,
            "request_ids": self.problems.request_ids("duplicate"),
        }

    def _emulator_duplicate_groups(self) -> int:
        """Charges each group of posts the emulators count as duplicates to its requests; the
        posts of a group no request can be found for are counted instead (returned)."""
        unattributed = 0
        for platform in ("instagram", "tiktok"):
            text = {p[ID_KEY[platform]]: p.get(TEXT_KEY[platform]) or "" for p in self.evidence.posts[platform]}
            for group in self.evidence.stats[platform].get("duplicate_groups", []):
                rids = {m.group(0) for pid in group if (m := UUID_RE.search(text.get(pid, "")))}
                if not rids:
                    unattributed += len(group) - 1
                for rid in rids:
                    self.problems.add("duplicate", rid, f"the {platform} emulator counts posts {group} as duplicates")
        return unattributed

    # --- the final state of each request: lost, refused, mismatched -------------------------

    def final_states(self) -> None:
        self.final_state: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.lost_no_record: list[str] = []
        self.stuck: list[str] = []
        for item in self.requests:
            rid = item.request_id
            recs = self.recs_by_rid.get(rid, [])
            outcome = self.evidence.outcomes.get(rid, Outcome())
            if recs:
                self._recorded(rid, recs[0], outcome)
            else:
                self._unrecorded(rid, outcome)
        for rec in self.stray_records:
            self.problems.add("mismatch", rec.request_id, "a record no soak request asked for", rec)

    def _unrecorded(self, rid: str, outcome: Outcome) -> None:
        if outcome.kind == "error" and not outcome.publish_id:
            self.refused[f"{outcome.code}:{outcome.reason}"] += 1
            self.final_state["REFUSED"] += 1
            if outcome.code == "INTERNAL":
                self.problems.add("mismatch", rid, f"INTERNAL before any record: {outcome.message}")
            if self.posts_by_rid.get(rid):
                self.problems.add("mismatch", rid, f"refused ({outcome.code} {outcome.reason}) but it posted")
            return
        self.final_state["LOST"] += 1
        self.lost_no_record.append(rid)
        self.problems.add("lost", rid, f"no record; the caller was told {outcome.kind} {outcome.code} "
                          f"{outcome.reason} {outcome.message!r} after {outcome.attempts} attempts")

    def _recorded(self, rid: str, rec: Any, outcome: Outcome) -> None:
        add = self.problems.add
        state = STATE_NAMES.get(rec.state, str(rec.state))
        if state not in TERMINAL:
            self.stuck.append(rid)
            self.final_state["STUCK"] += 1
            add("lost", rid, f"record still {state} after settling", rec)
            return
        self.final_state[state] += 1
        # What the caller was told vs the record.
        if outcome.kind == "ok" and outcome.state != state:
            add("mismatch", rid, f"the caller was told {outcome.state}, the record says {state}", rec)
        if outcome.kind == "error" and state in ("PUBLISHED", "DELIVERED_TO_INBOX"):
            add("mismatch", rid, f"the caller was told {outcome.code} {outcome.reason}, the record says {state}", rec)
        if outcome.kind == "ok" and outcome.publish_id != rec.id:
            add("mismatch", rid, f"the caller was told publish {outcome.publish_id}, the record is {rec.id}", rec)
        if outcome.code == "INTERNAL" or rec.error.code == "INTERNAL":
            add("mismatch", rid, f"INTERNAL: {rec.error.message or outcome.message}", rec)
        # The record vs the platform.
        posts = self.live_posts(rid)
        if state in ("PUBLISHED", "DELIVERED_TO_INBOX") and not posts:
            add("mismatch", rid, f"record {state} but nothing was posted", rec)
        if state == "FAILED" and posts:
            add("mismatch", rid, f"record FAILED ({rec.error.reason}) but it posted {[post_id(p) for p in posts]}", rec)
        if rec.platform == account_pb2.PLATFORM_INSTAGRAM and rec.ig_media_id:
            own = [p for p in self.evidence.posts["instagram"] if p["creation_id"] == rec.instagram_container_id]
            if not own or own[0]["id"] != rec.ig_media_id:
                add("mismatch", rid, f"record names IG media {rec.ig_media_id}, its container "
                    f"{rec.instagram_container_id} was posted as {[p['id'] for p in own]}", rec)
        if (
            rec.platform == account_pb2.PLATFORM_TIKTOK and rec.tiktok_publish_id
            and rec.tiktok_publish_id not in {p["publish_id"] for p in self.posts_by_rid.get(rid, [])}
        ):
            add("mismatch", rid, f"record names TikTok publish {rec.tiktok_publish_id}, "
                "which is not this request's post", rec)

    # --- notes (allowed, but worth knowing) -------------------------------------------------

    def notes(self) -> None:
        self.unconfirmed: list[dict[str, Any]] = []
        self.failed: collections.Counter[str] = collections.Counter()
        self.published_without_id: list[dict[str, Any]] = []
        for rid, recs in self.recs_by_rid.items():
            rec = recs[0]
            state = STATE_NAMES.get(rec.state)
            posts = self.live_posts(rid)
            if state == "UNCONFIRMED":
                self.unconfirmed.append({
                    "request_id": rid,
                    "publish_id": rec.id,
                    "platform": self.by_rid[rid].platform,
                    "message": rec.error.message,
                    "posted": bool(posts),
                    "posts": [post_id(p) for p in posts],
                })
            elif state == "FAILED":
                self.failed[f"{rec.error.code}:{rec.error.reason}"] += 1
            elif state == "PUBLISHED" and rec.platform == account_pb2.PLATFORM_INSTAGRAM and not rec.ig_media_id:
                self.published_without_id.append(
                    {"request_id": rid, "publish_id": rec.id, "posts": [p["id"] for p in posts]}
                )

    # --- what to show for each problem ------------------------------------------------------

    def attribute(self) -> None:
        for rid, entry in self.problems.entries.items():
            entry["publish_ids"] = list(entry["publish_ids"]) or [r.id for r in self.recs_by_rid.get(rid, [])]
            entry["timelines"] = []  # the run fills these in (GetPublish)
            entry["posts"] = self.posts_by_rid.get(rid, [])
            planned = self.by_rid.get(rid)
            entry["platform"] = planned.platform if planned else ""
            outcome = self.evidence.outcomes.get(rid)
            entry["caller_was_told"] = (
                {k: v for k, v in outcome.__dict__.items() if k != "codes_seen"}
                | {"codes_seen": dict(outcome.codes_seen)} if outcome else None
            )

    # --- the report -------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        ev, args = self.evidence, self.evidence.args
        duplicates = self.duplicates()
        self.final_states()
        self.notes()
        self.attribute()
        lost_total = len(self.lost_no_record) + len(self.stuck)
        mismatches = self.problems.request_ids("mismatch")
        accounted = sum(self.final_state.values())
        codes_seen: collections.Counter[str] = collections.Counter()
        attempts = 0
        for outcome in ev.outcomes.values():
            codes_seen.update(outcome.codes_seen)
            attempts += outcome.attempts
        report = {
            "seed": args.seed,
            "settings": {
                "publishes": args.publishes, "concurrency": args.concurrency, "fault_rate": args.fault_rate,
                "stall_seconds": args.stall_seconds, "processing_delay": args.processing_delay,
                "kill_interval": [args.kill_min, args.kill_max], "max_kills": args.kills,
                "instagram_accounts": ev.plan.instagram_accounts, "tiktok_accounts": ev.plan.tiktok_accounts,
            },
            "publishes_requested": len(self.requests),
            "by_platform": dict(collections.Counter(r.platform for r in self.requests)),
            "records_created": len(ev.records),
            "posts": {
                "instagram": len(ev.posts["instagram"]),
                "tiktok": len(ev.posts["tiktok"]),
                "tiktok_failed_on_platform": ev.stats["tiktok"].get("failed", 0),
                "not_from_a_soak_request": len(self.orphan_posts),
            },
            "published": self.final_state["PUBLISHED"],
            "delivered_to_inbox": self.final_state["DELIVERED_TO_INBOX"],
            "failed": {"count": self.final_state["FAILED"], "by_reason": dict(self.failed.most_common())},
            "unconfirmed": {
                "count": len(self.unconfirmed),
                "posted_on_platform": sum(1 for u in self.unconfirmed if u["posted"]),
                "records": self.unconfirmed,
            },
            "refused_before_record": {"count": self.final_state["REFUSED"], "by_reason": dict(self.refused)},
            "duplicates": duplicates,
            "lost": {
                "total": lost_total,
                "no_record": self.lost_no_record,
                "stuck_non_terminal": self.stuck,
            },
            "mismatches": {"total": len(mismatches), "request_ids": mismatches},
            "published_without_ig_media_id": self.published_without_id,
            "accounting": {
                "requests_by_final_state": dict(self.final_state),
                # Every request ends in exactly one class; every record belongs to one request.
                "adds_up": accounted == len(self.requests)
                and len(ev.records) == len(self.requests) - self.final_state["REFUSED"] - self.final_state["LOST"]
                + self.several_extra + len(self.stray_records),
            },
            "kills": len(ev.kills),
            "kill_times_s": ev.kills,
            "unexpected_service_exits": ev.unexpected_exits,
            "failed_restart_attempts": ev.restarts_failed,
            "client": {"attempts": attempts, "retried_answers": dict(codes_seen.most_common())},
            "faults_injected": {
                name: {f"{i['endpoint']}:{i['kind']}": i["count"] for i in snapshot["injected"]}
                for name, snapshot in ev.faults.items()
            },
            # Faults after which the post was live although the service saw an error or no answer:
            # the duplicate traps. Calls are numbered per endpoint on each emulator.
            "live_faults": {name: live_faults(snapshot) for name, snapshot in ev.faults.items()},
            "service_log": scan_log(ev.service_log),
            "problems": list(self.problems.entries.values()),
            "workdir": str(ev.workdir),
        }
        report["ok"] = self.duplicates_total == 0 and lost_total == 0 and not mismatches
        return report


def live_faults(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: e[k] for k in ("endpoint", "call", "kind", "after_serving", "status")}
        for e in snapshot.get("events", [])
        if e["endpoint"] in LIVE_ENDPOINTS and (e["after_serving"] or e["kind"] == "error_after_live")
    ]


def scan_log(path: Path) -> dict[str, Any]:
    """ERROR lines in the service's JSON log (the service logs a crashed workflow there)."""
    counts: collections.Counter[str] = collections.Counter()
    samples: list[str] = []
    if not path.exists():
        return {"errors": 0, "by_message": {}, "samples": []}
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line or line.startswith(("Error", "Exception")):
                counts["(non-JSON) " + line[:120]] += 1
            continue
        if isinstance(entry, dict) and str(entry.get("level", "")).upper() in ("ERROR", "CRITICAL"):
            counts[str(entry.get("message") or entry.get("msg"))[:160]] += 1
            if len(samples) < 5:
                samples.append(line[:2000])
    return {"errors": sum(counts.values()), "by_message": dict(counts.most_common(20)), "samples": samples}
