"""What the operator sees at start: a banner on stdout that tells the truth about the mode,
one JSON `started` line with the facts, and nothing but JSON lines on stderr (grpc's own
C-core lines included) for the whole run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from tests.support.paths import ROOT
from tests.support.processes import free_port
from tests.support.tls import make_pki

KEY_A = "banner-key-for-alpha-0123456789"
KEY_B = "banner-key-for-beta-9876543210"


class Run:
    """One `python -m server` run: its output so far, its `started` log line."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.address = env["DISTRIBUTION_LISTEN"]
        self.out = workdir / "stdout.log"
        self.err = workdir / "stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr.splitlines()]

    def started(self, bound: float = 30.0) -> dict[str, Any]:
        """The `started` log line, once written (and the banner, printed right after it)."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}: {self.stderr}")
            for line in self.stderr.splitlines():
                entry = json.loads(line)
                if entry["message"] == "started" and "Stop with Ctrl-C." in self.stdout:
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no 'started' line within {bound}s: {self.stderr}")


@contextmanager
def service(workdir: Path, **values: str) -> Iterator[Run]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISTRIBUTION_", "GRPC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "generated")])
    env.update(
        DISTRIBUTION_LISTEN=f"127.0.0.1:{free_port()}",
        DISTRIBUTION_METRICS_LISTEN=f"127.0.0.1:{free_port()}",
        DISTRIBUTION_HTTP_LISTEN=f"127.0.0.1:{free_port()}",
        DISTRIBUTION_DB=str(workdir / "d.db"),
    )
    env.update(values)
    run = Run(workdir, env)
    with open(run.out, "wb") as out, open(run.err, "wb") as err:
        run.proc = subprocess.Popen([sys.executable, "-m", "server"], cwd=workdir, env=env, stdout=out, stderr=err)
    try:
        yield run
    finally:
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
            try:
                run.proc.wait(20)
            except subprocess.TimeoutExpired:
                run.proc.kill()
                run.proc.wait()


def test_plaintext_open_service_says_so(tmp_path):
    with service(tmp_path) as run:
        started = run.started()
        banner = run.stdout
    assert started["address"] == run.address
    assert started["transport_security"] == "plaintext"
    assert started["authentication"] == "open"
    assert started["store"] == f"sqlite ({tmp_path / 'd.db'})"
    assert started["instagram_api"].startswith("sandbox (http://127.0.0.1:")
    assert started["tiktok_api"].startswith("sandbox (http://127.0.0.1:")
    assert started["metrics"] == f"http://{run.env['DISTRIBUTION_METRICS_LISTEN']}/metrics"
    http = f"http://{run.env['DISTRIBUTION_HTTP_LISTEN']}"
    assert started["http"] == http
    assert f"  HTTP/JSON:      {http} (OpenAPI: {http}/api/v1/openapi.json)" in banner
    assert started["console"] == f"{http}/console/"
    assert f"  Console:        {http}/console/ (in a browser)" in banner
    assert banner.splitlines()[0] == f"Distribution is listening on {run.address}"
    assert "  Transport:      plaintext" in banner
    assert "  Authentication: none: every caller shares one workspace (loopback only)" in banner
    assert f".venv/bin/grpcurl -plaintext {run.address} list" in banner


def test_tls_with_api_keys_shows_no_plaintext_hints_and_no_key(tmp_path):
    pki = make_pki(tmp_path)
    instagram = "https://graph.facebook.com/v23.0"
    with service(
        tmp_path,
        DISTRIBUTION_TLS_CERT=str(pki.server_cert),
        DISTRIBUTION_TLS_KEY=str(pki.server_key),
        DISTRIBUTION_API_KEYS=f"alpha={KEY_A},beta={KEY_B}",
        DISTRIBUTION_INSTAGRAM_API_BASE=instagram,
        DISTRIBUTION_METRICS_LISTEN="off",
    ) as run:
        started = run.started()
        banner = run.stdout
    assert started["transport_security"] == "tls"
    assert started["authentication"] == "api_keys"
    assert started["api_key_workspaces"] == 2
    assert started["instagram_api"] == instagram
    assert started["tiktok_api"].startswith("sandbox (")
    assert started["metrics"] == "off"
    assert "-plaintext" not in banner
    assert "no credentials" not in banner
    assert "  Transport:      TLS" in banner
    assert "  Authentication: API keys for 2 workspaces" in banner
    assert f".venv/bin/grpcurl -cacert CA.pem {run.address} list" in banner
    assert 'Calls to the API also need -H "authorization: Bearer $KEY"' in banner
    for key in (KEY_A, KEY_B):
        assert key not in run.stdout + run.stderr


def test_mutual_tls_names_client_certificates(tmp_path):
    pki = make_pki(tmp_path)
    with service(
        tmp_path,
        DISTRIBUTION_TLS_CERT=str(pki.server_cert),
        DISTRIBUTION_TLS_KEY=str(pki.server_key),
        DISTRIBUTION_TLS_CLIENT_CA=str(pki.ca_cert),
        DISTRIBUTION_TLS_CLIENT_WORKSPACES="billing-service=billing",
    ) as run:
        started = run.started()
        banner = run.stdout
    assert started["transport_security"] == "mutual_tls"
    assert started["authentication"] == "client_certificates"
    assert started["client_certificate_workspaces"] == 1
    assert "-plaintext" not in banner
    assert "  Authentication: client certificates mapped to 1 workspace" in banner
    assert f"-cacert CA.pem -cert CLIENT.pem -key CLIENT.key {run.address} list" in banner


def test_a_failed_tls_handshake_leaves_only_json_lines_on_stderr(tmp_path):
    pki = make_pki(tmp_path)
    with service(
        tmp_path, DISTRIBUTION_TLS_CERT=str(pki.server_cert), DISTRIBUTION_TLS_KEY=str(pki.server_key)
    ) as run:
        run.started()
        # A plaintext client on a TLS port: grpc's C core logs "Handshake failed" (not JSON).
        with grpc.insecure_channel(run.address) as channel:
            try:
                channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
            else:
                raise AssertionError("a plaintext call to a TLS port succeeded")
        assert run.proc is not None
        run.proc.send_signal(signal.SIGTERM)
        assert run.proc.wait(20) == 0
    messages = [entry["message"] for entry in run.logs()]  # every line parses as JSON
    assert messages[-1] == "stopped", run.stderr


def unknown_variable_warnings(run: Run) -> list[dict[str, Any]]:
    return [entry for entry in run.logs() if entry["level"] == "WARNING" and "variable" in entry]


def test_an_unknown_distribution_variable_is_a_warning_naming_it_never_its_value(tmp_path):
    """A renamed setting or a typo would do nothing, silently: the start says so and goes on."""
    secret = "not-a-setting-secret-0123456789"
    with service(
        tmp_path,
        DISTRIBUTION_WEBHOOK_DISABLE_AFTER="7",  # the old name of DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS
        DISTRIBUTION_API_KEY=secret,  # one letter short of DISTRIBUTION_API_KEYS
        DISTRIBUTION_COLOUR="blue",
        DISTRIBUTION_TEST_POSTGRES="postgresql://127.0.0.1:5432/test",  # the test suite's, not the service's
    ) as run:
        run.started()
        warnings = unknown_variable_warnings(run)
    assert [(w["variable"], w["did_you_mean"]) for w in warnings] == [
        ("DISTRIBUTION_API_KEY", "DISTRIBUTION_API_KEYS"),
        ("DISTRIBUTION_COLOUR", ""),
        ("DISTRIBUTION_WEBHOOK_DISABLE_AFTER", "DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS"),
    ]
    assert warnings[2]["message"] == (
        "DISTRIBUTION_WEBHOOK_DISABLE_AFTER is not a setting of this service and is ignored; "
        "did you mean DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS?"
    )
    assert secret not in run.stdout + run.stderr and "blue" not in run.stderr

