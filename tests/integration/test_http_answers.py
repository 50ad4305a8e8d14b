"""How the shared HTTP layer (server/adapters/http.py) reads answers no platform should give,
and what each platform's error table makes of them: a refused connection (never sent), an
answer that never came (sent), a 200 whose body is not a JSON object (sent), and Retry-After
values that are not a number of seconds. Against a loopback server that answers exactly so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from server.adapters.http import NoUsableAnswer, new_session, request_json, retry_after_seconds
from server.adapters.instagram.errors import no_answer_failure as ig_no_answer
from server.adapters.tiktok.errors import no_answer_failure as tt_no_answer
from tests.support.processes import free_port


@pytest.fixture
async def answers() -> AsyncIterator[str]:
    """A loopback server: /list answers 200 with a JSON list, /html 200 with a page, /empty
    200 with no body, /hang never answers, /ok a JSON object."""
    never = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await never.wait()  # the client's own timeout ends the call
        return web.Response()

    def answer(response: web.Response) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_: web.Request) -> web.Response:
            return response
        return handler

    app = web.Application()
    app.router.add_get("/list", answer(web.json_response([1, 2])))
    app.router.add_get("/html", answer(web.Response(text="<html>busy</html>", status=200)))
    app.router.add_get("/empty", answer(web.Response(status=200)))
    app.router.add_get("/hang", hang)
    app.router.add_get("/ok", answer(web.json_response({"id": "1"}, headers={"Retry-After": "2.5"})))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        never.set()
        await runner.cleanup()


async def _call(url: str, session_timeout: float = 5.0) -> tuple[int, dict[str, object], dict[str, str]]:
    async with new_session(session_timeout) as session:
        return await request_json(session, "test", "endpoint", "GET", url)


@pytest.mark.parametrize("path", ["/list", "/html"])
async def test_a_200_whose_body_is_not_a_json_object_was_sent_and_is_no_answer(answers: str, path: str) -> None:
    with pytest.raises(NoUsableAnswer) as caught:
        await _call(answers + path)
    assert (caught.value.sent, caught.value.http_status) == (True, 200)
    assert caught.value.detail == "HTTP 200 with a body that is not a JSON object"


async def test_an_empty_200_is_an_empty_object(answers: str) -> None:
    assert (await _call(answers + "/empty"))[:2] == (200, {})


async def test_an_answer_carries_its_status_body_and_lower_case_headers(answers: str) -> None:
    status, body, headers = await _call(answers + "/ok")
    assert (status, body, retry_after_seconds(headers)) == (200, {"id": "1"}, 2.5)


async def test_a_refused_connection_was_never_sent() -> None:
    with pytest.raises(NoUsableAnswer) as caught:
        await _call(f"http://127.0.0.1:{free_port()}/x")
    assert caught.value.sent is False
    assert caught.value.detail.startswith("cannot connect: ")


async def test_an_answer_that_never_came_was_sent(answers: str) -> None:
    with pytest.raises(NoUsableAnswer) as caught:
        await _call(answers + "/hang", session_timeout=0.3)
    assert (caught.value.sent, caught.value.detail) == (True, "no answer in time")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("soon", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None),
     ("-1", None), ("nan", None), ("inf", None), ("", None)],
)
def test_retry_after_is_a_number_of_seconds_or_ignored(value: str, seconds: float | None) -> None:
    assert retry_after_seconds({"retry-after": value}) == seconds
    assert retry_after_seconds({}) is None


# --- what each platform makes of a call without an answer -------------------------------------


@pytest.mark.parametrize(("sent", "retryable", "maybe_applied"), [(False, False, False), (True, False, True)])
def test_media_publish_refused_never_posted_but_timed_out_may_have(
    sent: bool, retryable: bool, maybe_applied: bool
) -> None:
    # Neither is sent again blindly: refused ends FAILED at once (nothing posted), timed out
    # sends the workflow to the container's status first.
    failure = ig_no_answer("media_publish", NoUsableAnswer("x", sent=sent))
    assert (failure.retryable, failure.maybe_applied) == (retryable, maybe_applied)


@pytest.mark.parametrize("sent", [False, True])
def test_instagram_reads_and_creates_are_resent_either_way(sent: bool) -> None:
    failure = ig_no_answer("create_container", NoUsableAnswer("x", sent=sent))
    assert (failure.retryable, failure.maybe_applied) == (True, False)


@pytest.mark.parametrize(("endpoint", "sent", "retryable", "maybe_applied"), [
    ("init", False, True, False), ("init", True, False, True),
    ("token", False, True, False), ("token", True, False, True),
    ("status", True, True, False), ("creator_info", True, True, False),
])
def test_tiktok_resends_only_what_surely_never_arrived_or_changes_nothing(
    endpoint: str, sent: bool, retryable: bool, maybe_applied: bool
) -> None:
    failure = tt_no_answer(endpoint, NoUsableAnswer("x", sent=sent))
    assert (failure.retryable, failure.maybe_applied) == (retryable, maybe_applied)
