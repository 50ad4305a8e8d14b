"""`python -m scripts.soak` (`make soak`): the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import scripts.soak
from scripts.soak.report import print_report, write_json
from scripts.soak.run import Soak


def _summary() -> str:
    return (scripts.soak.__doc__ or "").split("\n\n")[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.soak", description=_summary())
    parser.add_argument("--publishes", type=int, default=500, help="how many publishes (half each platform)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the plan, the faults and the kill schedule")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent callers")
    parser.add_argument("--fault-rate", type=float, default=0.15, help="share of each endpoint's calls faulted")
    parser.add_argument("--stall-seconds", type=float, default=1.0, help="how long a timeout fault stalls")
    parser.add_argument("--processing-delay", type=float, default=0.2, help="emulators' processing delay")
    parser.add_argument("--kills", type=int, default=None, help="at most this many SIGKILLs (default: no limit)")
    parser.add_argument("--kill-min", type=float, default=5.0, help="shortest time between kills (s)")
    parser.add_argument("--kill-max", type=float, default=15.0, help="longest time between kills (s)")
    parser.add_argument("--ig-per-account", type=int, default=10, help="Instagram publishes per account")
    parser.add_argument("--tiktok-per-account", type=int, default=3,
                        help="TikTok publishes per account (the service paces init to 6/min per token)")
    parser.add_argument("--media-pool", type=int, default=12, help="registered images to pick from")
    parser.add_argument("--call-timeout", type=float, default=30.0, help="deadline of one publish call (s)")
    parser.add_argument("--request-timeout", type=float, default=600.0,
                        help="a caller gives up on a request after this long without a definitive answer (s)")
    parser.add_argument("--settle-timeout", type=float, default=180.0,
                        help="how long the last service run gets to finish every record (s)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                        help="sqlite: one service on a file; postgres: replicas on a fresh PostgreSQL database")
    parser.add_argument("--replicas", type=int, default=1, help="how many services share the database (postgres)")
    parser.add_argument("--lease-seconds", type=float, default=3.0,
                        help="postgres: DISTRIBUTION_LEASE_SECONDS (how soon a killed replica's publishes move on)")
    parser.add_argument("--workdir", help="where the database and service.log go (default: a new temp dir)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.publishes < 1 or args.concurrency < 1 or args.media_pool < 2:
        parser.error("--publishes and --concurrency must be at least 1, --media-pool at least 2")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be from 0 to 1")
    if args.kill_min <= 0 or args.kill_max < args.kill_min:
        parser.error("need 0 < --kill-min <= --kill-max")
    if args.replicas < 1 or (args.replicas > 1 and args.store != "postgres"):
        parser.error("--replicas must be at least 1, and more than 1 only with --store postgres")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(Soak(args).run())
    print_report(report)
    if args.json:
        path = Path(args.json)
        write_json(report, path)
        print(f"report written to {path}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
