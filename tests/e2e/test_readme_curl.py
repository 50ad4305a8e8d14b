"""The README's curl block, run as written (only the address changes) against `python -m
server` on the built-in sandbox: the spec's two endpoints answer the spec's fields, a
one-image carousel is a 400 with its details, and the history and watch calls follow."""

from __future__ import annotations

import json
import re
import subprocess

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, free_port, service_env

DEFAULT_ORIGIN = "http://127.0.0.1:8080"


def curl_block() -> str:
    section = (ROOT / "README.md").read_text().split("## Try it with curl", 1)[1]
    found = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_readme_curl_block_publishes_on_both_platforms_and_reads_the_history(tmp_path) -> None:
    block = curl_block()
    assert "/publish/instagram/carousel" in block and "/publish/tiktok/carousel" in block
    address = f"127.0.0.1:{free_port()}"
    service = ServiceProcess(
        service_env(tmp_path, DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0.05", DISTRIBUTION_HTTP_LISTEN=address),
        tmp_path / "service.log",
    )
    service.start()
    try:
        result = subprocess.run(
            ["bash", "-c", block.replace(DEFAULT_ORIGIN, f"http://{address}")], cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        service.stop()
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    refused, instagram, tiktok, publish, tiktok_history, *watch, video = replies

    assert refused["error"]["code"] == 400 and refused["error"]["status"] == "INVALID_ARGUMENT", refused
    types = [d["@type"].rsplit(".", 1)[1] for d in refused["error"]["details"]]
    assert types == ["ErrorInfo", "BadRequest", "RequestInfo"]

    assert list(instagram)[:4] == ["instagramPublishId", "igMediaId", "permalink", "imageCount"], instagram
    assert instagram["imageCount"] == 3 and instagram["state"] == "PUBLISH_STATE_PUBLISHED"
    assert list(tiktok)[:4] == ["tiktokPublishId", "publishId", "tiktokMediaId", "imageCount"], tiktok
    assert tiktok["imageCount"] == 3 and tiktok["state"] == "PUBLISH_STATE_PUBLISHED"

    assert publish["publish"]["id"] == instagram["instagramPublishId"]
    assert publish["events"][0]["type"] == "CREATED"
    assert [p["id"] for p in tiktok_history["publishes"]] == [tiktok["tiktokPublishId"]]
    assert watch and watch[-1]["publish"]["state"] == "PUBLISH_STATE_PUBLISHED"
    assert (video["state"], video["source"]) == ("PUBLISH_STATE_PUBLISHED", "FILE_UPLOAD"), video
