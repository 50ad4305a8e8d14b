"""The README walkthrough against `python -m server` with its built-in sandbox emulators,
through grpcurl, then SIGTERM: the carousel is published, every call logs one JSON line,
and the platform token never shows in a response or a log line."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.processes import ServiceProcess, service_env
from tests.support.tools import grpcurl

SECRET = "SECRET-TOKEN-123"


@dataclass
class Walkthrough:
    account: dict[str, Any]
    fetched_account: dict[str, Any]
    media: list[dict[str, Any]]
    publish: dict[str, Any]
    rejected_connect: subprocess.CompletedProcess[str]
    transcript: str
    exit_code: int
    output: str  # everything the service wrote, stdout and stderr
    logs: list[dict[str, Any]]  # its JSON log lines


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> Walkthrough:
    workdir = tmp_path_factory.mktemp("walkthrough")
    # DEBUG makes the secrets check strictest: every logger speaks.
    server = ServiceProcess(
        service_env(
            workdir,
            DISTRIBUTION_METRICS_LISTEN="127.0.0.1:0",
            DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0",
            DISTRIBUTION_LOG_LEVEL="DEBUG",
        ),
        workdir / "service.log",
    )
    transcript: list[str] = []
    try:
        server.start()

        def call(method: str, data: dict[str, Any]) -> dict[str, Any]:
            result = grpcurl(server.address, method, data)
            transcript.extend([result.stdout, result.stderr])
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout)

        account = call(
            "distribution.v1.AccountService/ConnectAccount",
            {
                "platform": "PLATFORM_INSTAGRAM",
                "external_account_id": "17841400000000001",
                "username": "demo",
                "access_token": SECRET,
            },
        )["account"]
        fetched = call("distribution.v1.AccountService/GetAccount", {"id": account["id"]})["account"]
        media = [
            call("distribution.v1.MediaService/RegisterMedia", {"url": url})["media"]
            for url in ("gs://demo-bucket/autumn-1.jpg", "https://storage.googleapis.com/demo-bucket/autumn-2.jpg")
        ]
        publish = call(
            "distribution.v1.PublishingService/PublishInstagramCarousel",
            {
                "media_ids": [m["id"] for m in media],
                "instagram_account_id": account["id"],
                "caption": "Autumn in the sandbox #demo",
            },
        )
        rejected = grpcurl(
            server.address,
            "distribution.v1.AccountService/ConnectAccount",
            {"platform": "PLATFORM_INSTAGRAM", "external_account_id": "not-digits", "access_token": SECRET},
        )
        transcript.extend([rejected.stdout, rejected.stderr])
        code = server.terminate()
    finally:
        server.kill()
    return Walkthrough(
        account=account,
        fetched_account=fetched,
        media=media,
        publish=publish,
        rejected_connect=rejected,
        transcript="\n".join(transcript),
        exit_code=code,
        output=server.log_text(),
        logs=server.json_logs(),
    )


def test_walkthrough_publishes_a_carousel(walkthrough):
    w = walkthrough
    assert w.exit_code == 0, w.output
    assert w.account["state"] == "ACCOUNT_STATE_ACTIVE"
    assert w.account["platform"] == "PLATFORM_INSTAGRAM"
    assert [m["storage"] for m in w.media] == ["STORAGE_GCS", "STORAGE_GCS"]
    assert [m["kind"] for m in w.media] == ["MEDIA_KIND_IMAGE", "MEDIA_KIND_IMAGE"]
    # grpcurl prints proto field names (snake_case), not the lowerCamelCase JSON names.
    assert set(w.publish) == {"instagram_publish_id", "ig_media_id", "permalink", "image_count", "state"}
    assert len(w.publish["instagram_publish_id"]) == 36
    assert w.publish["ig_media_id"].isdigit()
    assert w.publish["permalink"].startswith("https://www.instagram.com/p/")
    assert w.publish["image_count"] == 2
    assert w.publish["state"] == "PUBLISH_STATE_PUBLISHED"


def test_walkthrough_logs_one_json_line_per_rpc(walkthrough):
    rpcs = [e for e in walkthrough.logs if e["message"] == "rpc" and e["method"].startswith("/distribution.v1.")]
    assert [(e["method"].rsplit("/", 1)[1], e["code"]) for e in rpcs] == [
        ("ConnectAccount", "OK"),
        ("GetAccount", "OK"),
        ("RegisterMedia", "OK"),
        ("RegisterMedia", "OK"),
        ("PublishInstagramCarousel", "OK"),
        ("ConnectAccount", "INVALID_ARGUMENT"),
    ]
    assert rpcs[4]["publish_id"] == walkthrough.publish["instagram_publish_id"]
    assert all(isinstance(e["duration_ms"], (int, float)) for e in rpcs)


def test_walkthrough_keeps_the_token_out_of_responses_and_logs(walkthrough):
    w = walkthrough
    assert w.rejected_connect.returncode != 0
    assert "InvalidArgument" in w.rejected_connect.stderr
    assert "external_account_id" in w.rejected_connect.stderr
    assert w.account["id"] in w.transcript  # the transcript is what we think it is
    assert "17841400000000001" in w.output or w.publish["instagram_publish_id"] in w.output
    assert SECRET not in w.transcript
    assert SECRET not in w.output
    assert "access_token" not in w.account and "access_token" not in w.fetched_account
