"""The soak's report: printed for a person, and written as JSON with --json."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any


def print_report(report: dict[str, Any]) -> None:
    p = print
    p()
    p("=== soak report ===")
    p(f"seed {report['seed']}  elapsed {report['elapsed_seconds']}s (load {report['load_seconds']}s)  "
      f"kills {report['kills']}  unexpected exits {len(report['unexpected_service_exits'])}")
    p(f"publishes requested   {report['publishes_requested']}  {report['by_platform']}")
    p(f"records created       {report['records_created']}")
    posts = report["posts"]
    p(f"posts on emulators    instagram {posts['instagram']}, tiktok {posts['tiktok']} "
      f"(of which FAILED on TikTok {posts['tiktok_failed_on_platform']}); not from a request: "
      f"{posts['not_from_a_soak_request']}")
    p(f"published             {report['published']}")
    p(f"delivered to inbox    {report['delivered_to_inbox']}")
    p(f"failed                {report['failed']['count']}  {report['failed']['by_reason']}")
    u = report["unconfirmed"]
    p(f"unconfirmed           {u['count']} (posted on the platform: {u['posted_on_platform']})")
    for rec in u["records"]:
        p(f"    {rec['platform']:9} request {rec['request_id']} publish {rec['publish_id']} "
          f"posted={rec['posted']} {rec['posts']}: {rec['message']}")
    r = report["refused_before_record"]
    p(f"refused (no record)   {r['count']}  {r['by_reason']}")
    d = report["duplicates"]
    p(f"DUPLICATES            {d['total']}  (emulators {d['emulator_duplicate_posts']}, records sharing a post "
      f"{d['records_sharing_a_post']}, requests posted more than once {d['requests_posted_more_than_once']}, "
      f"request ids with several records {d['requests_with_several_records']})")
    lost = report["lost"]
    p(f"LOST                  {lost['total']}  (no record {len(lost['no_record'])}, "
      f"stuck {len(lost['stuck_non_terminal'])})")
    p(f"MISMATCHES            {report['mismatches']['total']}")
    if report["published_without_ig_media_id"]:
        p(f"note: {len(report['published_without_ig_media_id'])} Instagram records PUBLISHED without an "
          "ig_media_id (the container was PUBLISHED but the media id was not identified)")
    p(f"accounting            {report['accounting']['requests_by_final_state']} "
      f"adds up: {report['accounting']['adds_up']}")
    p(f"client                {report['client']['attempts']} attempts; retried/answered errors: "
      f"{report['client']['retried_answers']}")
    p(f"faults injected       {report['faults_injected']}")
    for name, events in report["live_faults"].items():
        kinds = collections.Counter(
            f"{e['endpoint']}:{e['kind']}{'(after serving)' if e['kind'] != 'error_after_live' else ''}" for e in events
        )
        p(f"  {name}: post went live, answer lost or an error: {dict(kinds)}")
    log = report["service_log"]
    p(f"service log errors    {log['errors']}  {log['by_message']}")
    for entry in report["problems"]:
        p()
        p(f"--- {'/'.join(entry['kinds']).upper()}: request {entry['request_id']} ({entry['platform']}) "
          f"publish {entry['publish_ids']}")
        for why in entry["why"]:
            p(f"    {why}")
        p(f"    caller was told: {entry['caller_was_told']}")
        for timeline in entry["timelines"]:
            rec = timeline["publish"]
            p(f"    record {rec.get('id')}: {rec.get('state')} container={rec.get('instagram_container_id', '')} "
              f"ig_media_id={rec.get('ig_media_id', '')} tiktok_publish_id={rec.get('tiktok_publish_id', '')} "
              f"error={rec.get('error', {}).get('reason', '')}")
            for e in timeline["events"]:
                p(f"      {e['seq']:>6} {e['time']} {e['type']:<28} {e['state']:<12} {e['message']}"
                  + (f" {json.dumps(e['details'])}" if e["details"] else ""))
        platform = entry["platform"]
        if platform in report["live_faults"]:
            calls = [f"{e['endpoint']}#{e['call']} {e['kind']}" for e in report["live_faults"][platform]]
            p(f"    {platform} faults that went live this run (endpoint#call): {calls}")
        for post in entry["posts"]:
            p(f"    post on {post['platform']}: " + json.dumps(
                {k: post.get(k) for k in ("id", "publish_id", "creation_id", "children", "status", "timestamp",
                                          "fail_reason") if post.get(k) is not None}))
    p()
    p(f"work dir (service.log, distribution.db): {report['workdir']}")
    p("RESULT: " + ("OK" if report["ok"] else "PROBLEMS FOUND"))


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
