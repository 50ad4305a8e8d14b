"""Property-based fuzzing of the HTTP API from its own OpenAPI document, with Schemathesis.

Every operation of the document served at /api/v1/openapi.json is driven with requests
generated from its schema: valid ones (positive mode) and ones that break the document's
constraints (negative mode), with the API key and without it, a bounded number of examples
each, from a fixed seed. Each answer must be below 500 and match the document: its status,
content type and body schema (an error is google.rpc.Status in AIP-193's JSON form). The
server's log must hold no traceback. A streaming answer (a watch) is read up to its headers.

Hostile bytes a schema cannot express (non-UTF-8 headers and bodies, deep nesting, huge
numbers, NUL in every string field, oversized request lines and headers, unknown methods)
are test_http_hostile.py's. Size: FUZZ_EXAMPLES per operation, mode and caller (a longer run:
DISTRIBUTION_TEST_FUZZ_EXAMPLES=500 make test PYTEST_ARGS=tests/api/test_http_fuzz.py)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.sandbox.instagram import InstagramSandbox
from server.sandbox.tiktok import TikTokSandbox
from tests.fakes import FakeWebhookSender
from tests.support import settings as fast
from tests.support.client import images
from tests.support.fuzz.world import LoopThread, ServerLog
from tests.support.inprocess import InProcessServices

SEED = 24
FUZZ_EXAMPLES = int(os.environ.get("DISTRIBUTION_TEST_FUZZ_EXAMPLES", "25"))
KEY = "fuzz-key-0123456789abcdef"
WITH_KEY = {"Authorization": f"Bearer {KEY}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REQUEST_TIMEOUT = 30.0


@dataclass
class HttpWorld:
    loop: LoopThread
    services: InProcessServices
    origin: str
    log: ServerLog
    document: dict[str, Any]
    real: dict[str, str]  # a real id per path parameter kind: account, media, publish, webhook


async def _start(workdir: Path, loop: LoopThread, log: ServerLog) -> HttpWorld:
    instagram = InstagramSandbox(fast.instagram_config(publish_quota=100_000, container_quota=1_000_000))
    tiktok = TikTokSandbox(
        fast.tiktok_config(init_limit_per_minute=0, status_limit_per_minute=0, creator_info_limit_per_minute=0)
    )
    await instagram.start()
    await tiktok.start()
    services = InProcessServices(fast.fast_settings(
        workdir, instagram.base_url, tiktok.base_url, tiktok_rate_limits=fast.NO_RATE_LIMITS,
        http_listen="127.0.0.1:0", api_keys=f"fuzz={KEY}",
        # The connect flows run against the emulators' consent screens too.
        instagram_app_id="fuzz-app", instagram_app_secret="fuzz-secret", instagram_auth_base=instagram.origin,
        instagram_oauth_base=instagram.origin, tiktok_client_key="fuzz-key", tiktok_client_secret="fuzz-secret",
        tiktok_auth_base=tiktok.origin,
    ))
    # Webhooks the fuzzer registers, changes, redelivers or pings reach a receiver in memory:
    # no POST leaves the machine, whatever URL a generated request names.
    service = await services.start(adapters={"webhook_sender": FakeWebhookSender()})
    assert service.http is not None
    world = HttpWorld(loop, services, service.http.origin, log, {}, {})
    world.__dict__["emulators"] = (instagram, tiktok)
    return world


def _populate(world: HttpWorld) -> None:
    """Real objects for the path parameters to aim at, made over HTTP."""
    session = requests.Session()
    session.headers.update(WITH_KEY)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = session.post(world.origin + path, json=body, timeout=REQUEST_TIMEOUT)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    account = post("/api/v1/accounts", {"platform": "INSTAGRAM", "externalAccountId": "17841400000000001",
                                        "username": "fuzz", "accessToken": "fuzz-token"})["account"]["id"]
    media = [post("/api/v1/media", {"url": url})["media"]["id"] for url in images(2, prefix="gs://fuzz/http")]
    publish = post("/api/v1/publish/instagram/carousel", {"mediaIds": media, "instagramAccountId": account})
    webhook = post("/api/v1/webhooks", {"url": "https://hooks.example.com/fuzz"})["webhook"]["id"]
    world.real = {
        "account": account, "media": media[0], "publish": publish["instagramPublishId"], "webhook": webhook,
    }
    world.document = session.get(world.origin + "/api/v1/openapi.json", timeout=REQUEST_TIMEOUT).json()
    world.log.take()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpWorld]:
    loop = LoopThread()
    log = ServerLog()
    root = logging.getLogger()
    root.addHandler(log)
    started: HttpWorld | None = None
    try:
        started = loop.run(_start(tmp_path_factory.mktemp("http-fuzz"), loop, log))
        _populate(started)
        yield started
    finally:
        try:
            if started is not None:
                instagram, tiktok = started.__dict__["emulators"]

                async def stop() -> None:
                    await started.services.stop_all()
                    await instagram.stop()
                    await tiktok.stop()

                loop.run(stop())
        finally:
            loop.close()
            root.removeHandler(log)


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(verb.upper(), path) for path, item in document["paths"].items() for verb in item]


_DOCUMENT = json.loads((Path(__file__).parents[2] / "generated/openapi/distribution.json").read_text())
OPERATIONS = _operations(_DOCUMENT)


def _real_id(world: HttpWorld, path: str) -> str | None:
    for kind in ("account", "media", "publish", "webhook"):
        if f"/{kind}" in path:
            return world.real[kind]
    return None


def _streaming(operation: Any) -> bool:
    return "application/x-ndjson" in json.dumps(operation.definition.raw.get("responses", {}).get("200", {}))


def _call(world: HttpWorld, case: schemathesis.Case, headers: dict[str, str], streaming: bool) -> None:
    if streaming:
        # A watch that starts never ends by itself: its headers and status are the answer.
        kwargs = case.as_transport_kwargs(base_url=world.origin, headers=headers)
        kwargs.pop("session", None)
        with requests.request(**kwargs, stream=True, timeout=REQUEST_TIMEOUT) as response:
            assert response.status_code < 500, (response.status_code, response.text[:2000])
            if response.status_code == 200:
                assert response.headers["Content-Type"].startswith(("application/x-ndjson", "text/event-stream"))
                return
            body = response.json()
            assert set(body) == {"error"} and body["error"]["code"] == response.status_code, body
        return
    response = case.call(base_url=world.origin, headers=headers, timeout=REQUEST_TIMEOUT)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        body = response.json()
        assert body["error"]["code"] == response.status_code, body


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("verb", "path"), OPERATIONS, ids=[f"{v} {p}" for v, p in OPERATIONS])
def test_every_operation_answers_below_500_as_the_document_says(
    world: HttpWorld, verb: str, path: str, mode: GenerationMode, keyed: bool
) -> None:
    schema = schemathesis.openapi.from_dict(world.document)
    operation = schema[path][verb]
    streaming = _streaming(operation)
    strategy = operation.as_strategy(generation_mode=mode)
    real = _real_id(world, path)
    if real is not None and "{id}" in path:
        strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, path_parameters={"id": real}))
    headers = WITH_KEY if keyed else {}
    world.log.take()  # what an earlier test's stream logged as it ended is not this one's

    @seed(SEED)
    @settings(
        max_examples=FUZZ_EXAMPLES if keyed else max(FUZZ_EXAMPLES // 3, 2),
        deadline=None, database=None, derandomize=False, print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def answers_as_documented(case: schemathesis.Case) -> None:
        _call(world, case, headers, streaming)
        logged = world.log.take()
        assert not logged, f"the server logged an error for this request:\n{logged}"

    try:
        answers_as_documented()
    except Unsatisfiable:
        if mode != GenerationMode.NEGATIVE:
            raise
        pytest.skip("the document constrains nothing of this operation that a request could break")


def test_the_service_still_publishes_after_the_fuzzing(world: HttpWorld) -> None:
    session = requests.Session()
    session.headers.update(WITH_KEY)
    # The fuzzer may have disconnected the account it was given: connecting again is an upsert.
    again = session.post(world.origin + "/api/v1/accounts", timeout=REQUEST_TIMEOUT, json={
        "platform": "INSTAGRAM", "externalAccountId": "17841400000000001", "username": "fuzz", "accessToken": "t2"})
    assert again.json()["account"]["id"] == world.real["account"]
    media = [session.post(world.origin + "/api/v1/media", json={"url": url}, timeout=REQUEST_TIMEOUT).json()
             ["media"]["id"] for url in images(2, prefix="gs://fuzz/after")]
    reply = session.post(world.origin + "/api/v1/publish/instagram/carousel", timeout=REQUEST_TIMEOUT,
                         json={"mediaIds": media, "instagramAccountId": world.real["account"]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "PUBLISH_STATE_PUBLISHED"
