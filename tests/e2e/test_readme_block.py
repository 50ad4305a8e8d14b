"""The README's first grpcurl block, run as written (only the address changes) against
`python -m server` on the built-in sandbox: its validate_only call names the bad slide,
and the carousel after it publishes. (tests/e2e/test_walkthrough.py checks the same
service call by call; this runs the block a reader pastes.)"""

from __future__ import annotations

import json
import re
import subprocess

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, service_env

DEFAULT_ADDRESS = "127.0.0.1:50051"


def walkthrough_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it with grpcurl", 1)[1]
    found = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_readme_block_names_the_bad_slide_then_publishes(tmp_path) -> None:
    block = walkthrough_block()
    assert "validate_only" in block and DEFAULT_ADDRESS in block
    service = ServiceProcess(
        service_env(tmp_path, DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0.05", DISTRIBUTION_MEDIA_FETCH=""),
        tmp_path / "service.log",
    )
    service.start()
    try:
        result = subprocess.run(
            ["bash", "-c", block.replace(DEFAULT_ADDRESS, service.address)], cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        service.stop()
    assert "Code: InvalidArgument" in result.stderr, result.stderr
    assert (
        "media_ids[2]: 3000x1000 is 3.00:1; Instagram takes aspect ratios from 4:5 (0.80:1) to 1.91:1"
        in result.stderr
    ), result.stderr
    published = json.loads(result.stdout[result.stdout.rindex("{\n"):])
    assert published["state"] == "PUBLISH_STATE_PUBLISHED", result.stdout
    assert published["image_count"] == 3
