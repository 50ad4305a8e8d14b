"""The webhook walk-through of docs/events.md, run as written (only the addresses change)
against `python -m server` started with the settings the page names, delivering to the page's
receiver.py: the test ping, a publish's events, a disable and re-enable with the same secret,
a redelivery since a time and of one delivery, a secret rotation verified by either secret,
and the example webhook deleted at the end."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, free_port, service_env

PAGE_API = "http://127.0.0.1:8080"
PAGE_RECEIVER = "127.0.0.1:8099"


def webhooks_section() -> str:
    text = (ROOT / "docs" / "events.md").read_text()
    return text.split("## Signed webhooks", 1)[1].split("\n## ", 1)[0]


def block(section: str, marker: str, language: str) -> str:
    found = re.search(rf"<!-- {marker} -->\n```{language}\n(.*?)```", section, re.S)
    assert found is not None, f"docs/events.md lost its {marker} block"
    return found.group(1)


def named_settings(section: str) -> dict[str, str]:
    """The variables the page's `make run` line sets for a loopback receiver."""
    line = next(line for line in section.splitlines() if line.endswith("make run"))
    return dict(word.split("=", 1) for word in shlex.split(line)[:-2])


def test_the_webhook_walkthrough_runs_as_written(tmp_path: Path) -> None:
    section = webhooks_section()
    settings = named_settings(section)
    assert settings == {"DISTRIBUTION_WEBHOOK_ALLOW": "127.0.0.1", "DISTRIBUTION_WEBHOOK_ALLOW_HTTP": "true"}
    (tmp_path / "receiver.py").write_text(block(section, "webhook-receiver-example", "python"))
    (tmp_path / "webhook-secrets.txt").touch()
    receiver_port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "receiver.py", "webhook-secrets.txt", str(receiver_port)], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    address = f"127.0.0.1:{free_port()}"
    service = ServiceProcess(
        service_env(tmp_path, DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0.05", DISTRIBUTION_HTTP_LISTEN=address,
                    **settings),
        tmp_path / "service.log",
    )
    service.start()
    try:
        walk = block(section, "webhook-walkthrough", "bash")
        walk = walk.replace(PAGE_API, f"http://{address}").replace(PAGE_RECEIVER, f"127.0.0.1:{receiver_port}")
        result = subprocess.run(["bash", "-c", walk], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                check=False)
        time.sleep(0.5)  # the last deliveries reach the receiver
    finally:
        service.stop()
        receiver.terminate()
        printed, receiver_errors = receiver.communicate(timeout=10)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert receiver_errors == "", receiver_errors
    replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    ping, first, deliveries, off, _, on, since, one, _, rotated, deleted = replies
    assert ping["delivered"] is True and ping["statusCode"] == 204, ping
    assert first["state"] == "PUBLISH_STATE_PUBLISHED" and deliveries["deliveries"], deliveries
    assert off["webhook"]["state"] == "WEBHOOK_STATE_DISABLED"
    assert on["webhook"]["state"] == "WEBHOOK_STATE_ENABLED" and on["webhook"]["enabled"] is True
    assert since["queuedCount"] > 0 and one["queuedCount"] == 1 and one["delivery"]["redelivery"] is True
    assert rotated["webhook"]["previousSecretExpireTime"]
    assert deleted == {}
    lines = printed.splitlines()
    assert lines and not [line for line in lines if line.startswith("refused")], printed
    assert lines[0].startswith("webhook.test ") and lines[0].endswith("verified with secret 1 of 1")
    assert any(line.endswith("verified with secret 1 of 2") for line in lines)  # the new secret, in the overlap
    ids = [line.split()[1] for line in lines]
    assert len(ids) > len(set(ids))  # redelivered events keep their webhook-id
