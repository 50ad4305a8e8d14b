"""The README's first grpcurl block, run as written (only the address changes) against
`python -m server` on the built-in sandbox: its validate_only call names the bad slide,
and the carousel after it publishes."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from tests.processes import ROOT, ServiceProcess

DEFAULT_ADDRESS = "127.0.0.1:50051"


def walkthrough_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it with grpcurl", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)


async def test_the_walkthrough_names_the_bad_slide_then_publishes(tmp_path: Path) -> None:
    block = walkthrough_block()
    assert "validate_only" in block and DEFAULT_ADDRESS in block
    service = ServiceProcess(tmp_path, "sandbox", "sandbox", DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0.05")
    await service.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", block.replace(DEFAULT_ADDRESS, service.address), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        service.stop()
    out, err = stdout.decode(), stderr.decode()
    assert "Code: InvalidArgument" in err, err
    assert (
        "media_ids[2]: 3000x1000 is 3.00:1; Instagram takes aspect ratios from 4:5 (0.80:1) to 1.91:1" in err
    ), err
    published = json.loads(out[out.rindex("{\n"):])
    assert published["state"] == "PUBLISH_STATE_PUBLISHED", out
    assert published["image_count"] == 3
