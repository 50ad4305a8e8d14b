"""Signed webhooks: registering them (Webhooks) and delivering the workspace's events to
them (WebhookDispatcher).

Delivery, at least once, across replicas:
1. Queueing: each enabled webhook keeps the stream position up to which its events are
   queued. A pass reads the workspace's events after it (the same ordered stream as
   WatchPublishes) and queues one delivery per event of a kind the webhook wants, moving the
   position in the same write, only if no other replica moved it first (compare-and-set);
   a delivery is unique per (webhook, event).
2. Sending: due deliveries are claimed (each by one replica, for CLAIM_SECONDS), signed
   (Standard Webhooks; the `webhook-id` is the event id, the same on every retry) and POSTed
   with a time limit, at most `concurrency` at once, on this task, never on a publish's path.
   A 2xx delivers it; anything else is retried on Standard Webhooks' schedule (5 s, 5 min,
   30 min, 2 h, 5 h, 10 h, 10 h, with jitter; ~27.6 hours in all), then it is FAILED. Failed
   attempts in a row disable the webhook after `disable_after` (10), saying why.
   A replica dying mid-attempt leaves its claim to lapse; the attempt is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from server.domain.errors import FieldViolation, NotFound, invalid
from server.domain.events import EventPosition, WorkspaceEvent
from server.domain.models import Page, Publish
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.ports import Clock, PublishStore, WebhookSender, WebhookStore
from server.domain.validation import check_id
from server.domain.webhooks import (
    DISABLE_AFTER,
    MAX_DESCRIPTION_LENGTH,
    MAX_URL_LENGTH,
    DueDelivery,
    EventKind,
    NewDelivery,
    Webhook,
    kind_of,
    new_secret,
    next_attempt,
    signed_headers,
)
from server.services.background import BackgroundLoop
from server.services.workflow.publish_log import PublishLog

log = logging.getLogger("distribution.webhooks")

# Events queued per webhook per read.
PAGE = 200
# A claimed delivery is this replica's for so long; it is retried elsewhere after.
CLAIM_SECONDS = 120.0


@dataclass(frozen=True)
class WebhookPolicy:
    # Multiplies the retry schedule (DISTRIBUTION_WEBHOOK_RETRY_SCALE; tests shrink it).
    retry_scale: float = 1.0
    # Failed attempts in a row that disable a webhook (DISTRIBUTION_WEBHOOK_DISABLE_AFTER).
    disable_after: int = DISABLE_AFTER
    # POSTs in flight at once, per replica (DISTRIBUTION_WEBHOOK_CONCURRENCY).
    concurrency: int = 8
    # Seconds between passes while nothing nudges the dispatcher (due retries are found then).
    recheck: float = 1.0
    # Least seconds from one pass to the next: a publish makes several changes in quick
    # succession, and under load many publishes do; each change only nudges, so a burst costs
    # one pass (one read of the enabled webhooks) per interval, not one per change. Bounds the
    # delay a delivery gains to this much.
    min_interval: float = 0.2


class Webhooks:
    """CreateWebhook, GetWebhook, ListWebhooks, DeleteWebhook, ListWebhookDeliveries."""

    def __init__(self, store: WebhookStore, publishes: PublishStore, sender: WebhookSender, clock: Clock) -> None:
        self._store = store
        self._publishes = publishes
        self._sender = sender
        self._clock = clock

    async def create(
        self, workspace_id: str, url: str, kinds: Sequence[EventKind | None], description: str
    ) -> tuple[Webhook, str]:
        """The new webhook and its secret (the only time the secret leaves the service)."""
        violations = []
        if not url:
            violations.append(FieldViolation("url", "is required"))
        elif len(url) > MAX_URL_LENGTH:
            violations.append(FieldViolation("url", f"must be at most {MAX_URL_LENGTH} characters; got {len(url)}"))
        else:
            refusal = self._sender.url_refusal(url)
            if refusal is not None:
                violations.append(FieldViolation("url", f"cannot receive webhooks: {refusal}"))
        if len(kinds) > len(EventKind):
            violations.append(FieldViolation(
                "event_kinds", f"names each kind at most once: at most {len(EventKind)} entries; got {len(kinds)}"
            ))
            kinds = []
        for index, kind in enumerate(kinds):
            if kind is None:
                violations.append(FieldViolation(
                    f"event_kinds[{index}]",
                    "must be WEBHOOK_EVENT_KIND_PUBLISH_STATE_CHANGED or WEBHOOK_EVENT_KIND_PUBLISH_UPDATED",
                ))
        if len(description) > MAX_DESCRIPTION_LENGTH or not description.isprintable():
            violations.append(FieldViolation(
                "description", f"must be at most {MAX_DESCRIPTION_LENGTH} printable characters; got {len(description)}"
            ))
        if violations:
            raise invalid(violations)
        webhook = Webhook(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            url=url,
            event_kinds=frozenset(k for k in kinds if k is not None),
            description=description,
            created_at=self._clock.now(),
        )
        secret = new_secret()
        # Events from now on: a new webhook is not sent the workspace's past.
        await self._store.create(webhook, secret, await self._publishes.last_position())
        return webhook, secret

    async def get(self, workspace_id: str, webhook_id: str) -> Webhook:
        webhook_id = check_id("id", webhook_id, "a webhook id")
        return _found(webhook_id, await self._store.get(workspace_id, webhook_id))

    async def list_page(self, workspace_id: str, requested_size: int, token: str) -> Page:
        size = page_size(requested_size)
        rows = await self._store.list_page(workspace_id, size + 1, decode_token(token, {"list": "webhooks"}))
        next_token = encode_token(rows[size - 1][1], {"list": "webhooks"}) if len(rows) > size else ""
        return Page([w for w, _ in rows[:size]], next_token)

    async def delete(self, workspace_id: str, webhook_id: str) -> None:
        webhook_id = check_id("id", webhook_id, "a webhook id")
        if not await self._store.delete(workspace_id, webhook_id):
            _found(webhook_id, None)

    async def deliveries(self, workspace_id: str, webhook_id: str, requested_size: int, token: str) -> Page:
        webhook_id = check_id("webhook_id", webhook_id, "a webhook id")
        size = page_size(requested_size)
        _found(webhook_id, await self._store.get(workspace_id, webhook_id))
        filters = {"webhook_id": webhook_id}
        rows = await self._store.list_deliveries(workspace_id, webhook_id, size + 1, decode_token(token, filters))
        next_token = encode_token(rows[size - 1][1], filters) if len(rows) > size else ""
        return Page([d for d, _ in rows[:size]], next_token)


def _found(webhook_id: str, webhook: Webhook | None) -> Webhook:
    if webhook is None:
        raise NotFound(
            reason="WEBHOOK_NOT_FOUND",
            message=f"No webhook {webhook_id} in this workspace; ListWebhooks lists them",
            metadata={"webhook_id": webhook_id},
        )
    return webhook


class WebhookDispatcher:
    def __init__(
        self,
        store: WebhookStore,
        publish_log: PublishLog,
        sender: WebhookSender,
        clock: Clock,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._store = store
        self._log = publish_log
        self._publishes = publish_log.store
        self._sender = sender
        self._clock = clock
        self.policy = policy or WebhookPolicy()
        self._wake = asyncio.Event()
        self._background = BackgroundLoop("webhooks", self._run)
        self._stop_listening: Callable[[], None] = lambda: None

    def start(self) -> None:
        self._stop_listening = self._log.on_any_change(self._wake.set)
        self._background.start()

    async def stop(self) -> None:
        self._stop_listening()
        await self._background.stop()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the store away, say: try again at the next pass
                log.exception("webhook pass failed")
            await asyncio.sleep(self.policy.min_interval)  # nudges meanwhile set _wake: none is lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.policy.recheck):
                    await self._wake.wait()

    async def run_once(self) -> int:
        """Queues new events for every enabled webhook, then makes the due attempts; returns
        how many attempts were made."""
        hooks = await self._store.enabled()
        if not hooks:
            return 0  # the common case: no store work on every publish change beyond this read
        for webhook, cursor in hooks:
            await self._queue(webhook, cursor)
        attempts = 0
        while True:
            now = self._clock.now()
            due = await self._store.claim_due(
                now, now + timedelta(seconds=CLAIM_SECONDS), self.policy.concurrency * 4
            )
            if not due:
                return attempts
            gate = asyncio.Semaphore(self.policy.concurrency)
            await asyncio.gather(*(self._attempt(d, gate) for d in due))
            attempts += len(due)

    async def _queue(self, webhook: Webhook, cursor: EventPosition) -> None:
        while True:
            events = await self._publishes.workspace_events(webhook.workspace_id, cursor, PAGE)
            if not events:
                return
            wanted = [e for e in events if webhook.wants(kind_of(e.event))]
            records = {
                p.id: p
                for p in await self._publishes.get_many(webhook.workspace_id, sorted({e.publish_id for e in wanted}))
            }
            deliveries = [_delivery(e, records[e.publish_id]) for e in wanted]
            if not await self._store.advance(webhook.id, cursor, events[-1].position, deliveries, self._clock.now()):
                return  # another replica queued these
            cursor = events[-1].position
            if len(events) < PAGE:
                return

    async def _attempt(self, due: DueDelivery, gate: asyncio.Semaphore) -> None:
        async with gate:
            delivery = due.delivery
            now = self._clock.now()
            headers = signed_headers(due.secret, delivery.event_id, int(now.timestamp()), delivery.body)
            attempt = await self._sender.post(due.url, headers, delivery.body)
            retry_at = None if attempt.ok else next_attempt(delivery.attempts + 1, now, self.policy.retry_scale)
            await self._store.record_attempt(delivery.id, attempt, now, retry_at, self.policy.disable_after)
            if not attempt.ok:
                log.info(
                    "webhook delivery attempt failed",
                    extra={
                        "webhook_id": delivery.webhook_id, "event_id": delivery.event_id,
                        "attempt": delivery.attempts + 1, "status_code": attempt.status_code,
                        "error": attempt.error, "gives_up": retry_at is None,
                    },
                )


def _delivery(event: WorkspaceEvent, publish: Publish) -> NewDelivery:
    kind = kind_of(event.event)
    return NewDelivery(
        event_id=event.id, event_type=kind.value, publish_id=event.publish_id, body=payload(event, publish)
    )


def payload(event: WorkspaceEvent, publish: Publish) -> str:
    """The JSON body: Standard Webhooks' shape (type, timestamp, data)."""
    e = event.event
    body = {
        "type": kind_of(e).value,
        "timestamp": e.time.isoformat() if e.time else None,
        "data": {
            "event_id": event.id,
            "publish_id": event.publish_id,
            "account_id": event.account_id,
            "platform": event.platform.value,
            "event": {
                "sequence": e.id,
                "type": e.type,
                "state": e.state.value if e.state else None,
                "message": e.message,
                "details": e.details,
            },
            "publish": {
                "id": publish.id,
                "state": publish.state.value,
                "ig_media_id": publish.ig_media_id,
                "permalink": publish.permalink,
                "tiktok_publish_id": publish.tiktok_publish_id,
                "tiktok_post_id": publish.tiktok_post_id,
                "error": publish.error.to_dict() if publish.error else None,
                "created_at": publish.created_at.isoformat(),
                "published_at": publish.published_at.isoformat() if publish.published_at else None,
            },
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)

