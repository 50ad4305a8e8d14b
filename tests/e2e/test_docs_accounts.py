"""The connect walk-through of docs/accounts.md, run as written (only the address changes)
against `python -m server` on its built-in sandbox emulators, as `make run` starts it: a
TikTok connection, its state refused the second time, an Instagram one as another sandbox
user, a refused consent and a reconnect keeping the account's id."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, free_port, service_env

PAGE_API = "http://127.0.0.1:8080"


def walkthrough() -> str:
    text = (ROOT / "docs" / "accounts.md").read_text()
    found = re.search(r"<!-- connect-walkthrough -->\n```bash\n(.*?)```", text, re.S)
    assert found is not None, "docs/accounts.md lost its connect-walkthrough block"
    return found.group(1)


def test_the_connect_walkthrough_runs_as_written(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    service = ServiceProcess(service_env(tmp_path, DISTRIBUTION_HTTP_LISTEN=address), tmp_path / "service.log")
    service.start()
    try:
        walk = walkthrough().replace(PAGE_API, f"http://{address}")
        result = subprocess.run(["bash", "-c", walk], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                check=False)
    finally:
        service.stop()
    assert result.returncode == 0 and result.stderr == "", result.stderr
    replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    started, connected, reused, instagram, refused, reconnected = replies
    assert started["authorizationUrl"].startswith("http://127.0.0.1:") and started["state"]
    account = connected["account"]
    assert account["platform"] == "PLATFORM_TIKTOK" and account["username"] == "sandbox_creator"
    assert account["hasRefreshToken"] is True and connected["reconnected"] is False
    details = {d["@type"].rsplit(".", 1)[-1]: d for d in reused["error"]["details"]}
    assert reused["error"]["status"] == "FAILED_PRECONDITION"
    assert details["ErrorInfo"]["reason"] == "CONNECTION_STATE_USED"
    assert instagram["account"]["platform"] == "PLATFORM_INSTAGRAM"
    assert instagram["account"]["username"] == "autumn.shop"
    assert instagram["account"]["externalAccountId"].isdigit()
    details = {d["@type"].rsplit(".", 1)[-1]: d for d in refused["error"]["details"]}
    assert details["ErrorInfo"]["reason"] == "CONNECTION_CONSENT_DENIED"
    assert reconnected["reconnected"] is True and reconnected["account"]["id"] == account["id"]
    # The sandbox app's secret, sent to the emulators' token endpoints, is in no answer.
    assert "sandbox-app-secret" not in result.stdout
