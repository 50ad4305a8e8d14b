"""`python -m server` as operators run it: JSON logs, a clean stop on SIGTERM, and a bad
setting refused at start with one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.client import APP_SERVICES
from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, clean_env, service_env
from tests.support.tools import grpcurl


def run_to_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m server` with `env`, expected to stop by itself (a refused setting)."""
    return subprocess.run(
        [sys.executable, "-m", "server"], cwd=ROOT, env=clean_env(**env), capture_output=True, text=True,
        timeout=60, check=False,
    )


def test_sigterm_stops_the_process_cleanly_with_json_logs(tmp_path):
    # Health and reflection calls are logged at DEBUG (probes would flood INFO), so ask for DEBUG.
    server = ServiceProcess(
        service_env(
            tmp_path,
            DISTRIBUTION_METRICS_LISTEN="127.0.0.1:0",
            DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0",
            DISTRIBUTION_LOG_LEVEL="DEBUG",
        ),
        tmp_path / "service.log",
    )
    try:
        server.start()
        health = grpcurl(server.address, "grpc.health.v1.Health/Check", {"service": APP_SERVICES[2]})
        assert health.returncode == 0, health.stderr
        assert json.loads(health.stdout) == {"status": "SERVING"}
        code = server.terminate()
    finally:
        server.kill()

    assert code == 0, server.log_text()
    logs = server.json_logs()
    assert logs, server.log_text()
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in logs)
    health_calls = [e for e in logs if e["message"] == "rpc" and e.get("method") == "/grpc.health.v1.Health/Check"]
    assert health_calls, server.log_text()
    assert {e["code"] for e in health_calls} == {"OK"}
    for entry in health_calls:
        assert isinstance(entry["duration_ms"], (int, float)) and entry["duration_ms"] >= 0
    messages = [e["message"] for e in logs]
    assert "started" in messages
    assert messages.index("shutting down") < messages.index("stopped")
    assert messages[-1] == "stopped"
    assert server.db_path.exists()


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DISTRIBUTION_LISTEN", "nonsense"),
        ("DISTRIBUTION_INSTAGRAM_API_BASE", "ftp://x"),
        ("DISTRIBUTION_LOG_LEVEL", "LOUD"),
        ("DISTRIBUTION_LIST_CACHE_ENTRIES", "-1"),
        ("DISTRIBUTION_MEDIA_FETCH", "sometimes"),
        ("DISTRIBUTION_MEDIA_FETCH_ALLOW", "192.168.0.0/40"),
    ],
)
def test_bad_config_fails_at_start_with_one_line(tmp_path, variable, value):
    env = service_env(tmp_path, DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0")
    env[variable] = value
    result = run_to_exit(env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert value in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "distribution.db").exists()


def test_insecure_start_refusal_from_the_command_line(tmp_path):
    result = run_to_exit(service_env(tmp_path, DISTRIBUTION_LISTEN="0.0.0.0:50999"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISTRIBUTION_ALLOW_INSECURE" in lines[0]
