"""The README's single image and Reel blocks (grpcurl, then curl), run as written (only the
addresses change) against `python -m server` on the built-in sandbox, media fetch on: the
Reel's video facts are read, the 2-second clip is refused naming media_id, the image and the
Reel are published with their kinds."""

from __future__ import annotations

import json
import re
import subprocess

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, free_port, service_env

GRPC_ADDRESS = "127.0.0.1:50051"
HTTP_ORIGIN = "http://127.0.0.1:8080"


def blocks() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    grpc_part = readme.split("### A single image and a Reel", 1)[1].split("## Try it with curl", 1)[0]
    http_part = readme.split("The same single image and Reel over HTTP", 1)[1]
    grpc_block = re.search(r"```bash\n(.*?)```", grpc_part, re.DOTALL)
    http_block = re.search(r"```bash\n(.*?)```", http_part, re.DOTALL)
    assert grpc_block is not None and http_block is not None
    return grpc_block.group(1), http_block.group(1)


def json_documents(text: str) -> list[dict]:
    """The JSON values printed one after another (grpcurl indents; curl prints one a line)."""
    decoder, position, found = json.JSONDecoder(), 0, []
    while (start := text.find("{", position)) != -1:
        value, position = decoder.raw_decode(text, start)
        found.append(value)
    return found


def test_the_readme_single_image_and_reel_blocks_publish_both_kinds(tmp_path) -> None:
    grpc_block, http_block = blocks()
    http_address = f"127.0.0.1:{free_port()}"
    service = ServiceProcess(
        service_env(tmp_path, DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0.05", DISTRIBUTION_HTTP_LISTEN=http_address),
        tmp_path / "service.log",
    )
    service.start()
    try:
        over_grpc = subprocess.run(
            ["bash", "-c", grpc_block.replace(GRPC_ADDRESS, service.address)], cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=False,
        )
        over_http = subprocess.run(
            ["bash", "-c", http_block.replace(HTTP_ORIGIN, f"http://{http_address}")], cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        service.stop()

    assert "media_id: lasts 2.005 s; Instagram Reels take at least 3 s" in over_grpc.stderr, over_grpc.stderr
    facts_line = next(line for line in over_grpc.stdout.splitlines() if line.startswith("{'container'"))
    for fact in ("'container': 'mp4'", "'width': 1080", "'height': 1920", "'video_codec': 'h264'"):
        assert fact in facts_line, facts_line
    image, reel = json_documents(over_grpc.stdout[over_grpc.stdout.index(facts_line) + len(facts_line):])
    assert (image["state"], image["kind"]) == ("PUBLISH_STATE_PUBLISHED", "PUBLISH_KIND_IMAGE"), image
    assert (reel["state"], reel["kind"]) == ("PUBLISH_STATE_PUBLISHED", "PUBLISH_KIND_REEL"), reel
    assert reel["ig_media_id"] and reel["permalink"].startswith("https://www.instagram.com/p/")

    assert over_http.returncode == 0 and over_http.stderr == "", over_http.stderr
    http_image, http_reel = json_documents(over_http.stdout)
    assert (http_image["state"], http_image["kind"]) == ("PUBLISH_STATE_PUBLISHED", "PUBLISH_KIND_IMAGE")
    assert (http_reel["state"], http_reel["kind"]) == ("PUBLISH_STATE_PUBLISHED", "PUBLISH_KIND_REEL")
    assert {"instagramPublishId", "igMediaId", "permalink", "instagramContainerId"} <= set(http_reel)
