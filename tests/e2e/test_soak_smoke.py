"""The soak (`make soak`, scripts/soak/) in miniature, so its code cannot rot: a dozen
publishes under a low fault rate with one or two SIGKILLs of the service, run as a
subprocess exactly as `make soak` runs it, and its JSON report checked."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import ROOT


def test_small_soak_has_no_duplicate_or_lost_publish(tmp_path):
    report_path = tmp_path / "soak.json"
    command = [
        sys.executable, "-m", "scripts.soak",
        "--publishes", "12",
        "--kills", "2",
        "--kill-min", "0.5",
        "--kill-max", "1.5",
        "--fault-rate", "0.05",
        "--concurrency", "4",
        "--seed", "7",
        "--settle-timeout", "30",
        "--request-timeout", "40",
        "--workdir", str(tmp_path / "work"),
        "--json", str(report_path),
    ]
    # Its exit status is asserted below, after the report that explains a failure.
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90, check=False)
    output = result.stdout[-6000:] + result.stderr[-4000:]
    assert report_path.exists(), output
    report = json.loads(report_path.read_text())

    assert report["duplicates"]["total"] == 0, output
    assert report["lost"]["total"] == 0, output
    assert report["mismatches"]["total"] == 0, output
    assert result.returncode == 0, output

    # The counts add up: one final class per request, one record per recorded request.
    assert report["publishes_requested"] == 12
    assert sum(report["by_platform"].values()) == 12
    assert report["by_platform"] == {"instagram": 6, "tiktok": 6}
    assert report["accounting"]["adds_up"] is True, report["accounting"]
    by_state = report["accounting"]["requests_by_final_state"]
    assert sum(by_state.values()) == 12
    assert (
        report["published"] + report["delivered_to_inbox"] + report["failed"]["count"]
        + report["unconfirmed"]["count"] + report["refused_before_record"]["count"]
        + report["lost"]["total"]
    ) == 12
    assert report["records_created"] == 12 - report["refused_before_record"]["count"]
    # Every live post belongs to a request, and no request posted twice.
    assert report["posts"]["not_from_a_soak_request"] == 0
    live_posts = (
        report["posts"]["instagram"] + report["posts"]["tiktok"]
        - report["posts"]["tiktok_failed_on_platform"]
    )
    assert live_posts <= 12
    assert live_posts >= report["published"] + report["delivered_to_inbox"]
    # The service really was killed (and came back) while publishes were running.
    assert 1 <= report["kills"] <= 2
    assert report["unexpected_service_exits"] == []
