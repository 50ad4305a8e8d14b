"""Signed webhooks: registering, changing and testing them (Webhooks) and delivering the
workspace's events to them (WebhookDispatcher).

Delivery, at least once, across replicas:
1. Queueing: each enabled webhook keeps the stream position up to which its events are
   queued. A pass reads the workspace's events after it (the same ordered stream as
   WatchPublishes) and queues one delivery per event of a kind the webhook wants, moving the
   position in the same write, only if no other replica moved it first (compare-and-set).
   A disabled webhook queues nothing; re-enabled, it starts from the events of that moment
   (RedeliverWebhookEvents recovers the ones before).
2. Sending: due deliveries are claimed (each by one replica, for `claim_seconds`), at most
   `per_webhook` in flight for one webhook across every replica, and none while the webhook
   is paused (a receiver's Retry-After, or a short pause after the receiver itself failed:
   an outage costs a few failed attempts, not one per queued event). Each is signed (Standard
   Webhooks; the `webhook-id` is the event id, the same on every retry; during a secret
   rotation's overlap signed with both secrets) and POSTed with a time limit, at most
   `concurrency` at once per replica, on tasks of their own, never on a publish's path.
   A 2xx delivers it; anything else is retried on Standard Webhooks' schedule (5 s, 5 min,
   30 min, 2 h, 5 h, 10 h, 10 h, with jitter, no sooner than a Retry-After), then it is FAILED.
3. Disabling: a webhook every attempt to which has failed for `disable_window` (5 days),
   counted from the first failure of an unbroken run (a success anywhere ends the run), is
   disabled, saying since when and the last error; its pending deliveries end ABANDONED.
   (server/domain/webhooks.py: settle_attempt owns the rule.)
A replica dying mid-attempt leaves its claim to lapse; the attempt is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    NotFound,
    QuotaViolation,
    ResourceExhausted,
    invalid,
)
from server.domain.events import START, EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import Account, Page, Publish
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.ports import Clock, EventIds, EventLog, WebhookSender, WebhookStore
from server.domain.validation import canonical_id, check_id, id_violation
from server.domain.webhooks import (
    DISABLE_WINDOW,
    MAX_DESCRIPTION_LENGTH,
    MAX_URL_LENGTH,
    TEST_EVENT_TYPE,
    Attempt,
    Delivery,
    DeliveryRules,
    DueDelivery,
    EventKind,
    NewDelivery,
    Webhook,
    WebhookChanges,
    WebhookState,
    kind_of,
    kinds_violations,
    new_secret,
    signed_headers,
)
from server.services.background import BackgroundLoop
from server.services.event_subjects import EventSubjects
from server.services.workflow.publish_log import PublishLog

log = logging.getLogger("distribution.webhooks")

# Events queued per webhook per read.
PAGE = 200
# The fields UpdateWebhook changes (its update_mask paths).
UPDATABLE = ("url", "event_kinds", "description", "enabled")
# A since_time this far in the future is a mistake, not clock skew.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class WebhookPolicy:
    # Multiplies the retry schedule (DISTRIBUTION_WEBHOOK_RETRY_SCALE; tests shrink it).
    retry_scale: float = 1.0
    # Every attempt failing for this long disables a webhook (DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS).
    disable_window: timedelta = DISABLE_WINDOW
    # POSTs in flight at once, per replica (DISTRIBUTION_WEBHOOK_CONCURRENCY).
    concurrency: int = 8
    # POSTs in flight at once to one webhook, across replicas (DISTRIBUTION_WEBHOOK_CONCURRENCY_PER_WEBHOOK).
    per_webhook: int = 2
    # How long a rotated-out secret still signs (DISTRIBUTION_WEBHOOK_SECRET_OVERLAP_HOURS).
    secret_overlap: timedelta = timedelta(hours=24)
    # Webhooks one workspace may have (DISTRIBUTION_WEBHOOKS_PER_WORKSPACE).
    per_workspace: int = 20
    # How far back RedeliverWebhookEvents reaches: the event retention window.
    redelivery_window: timedelta = timedelta(days=7)
    # Seconds between passes while nothing nudges the dispatcher (due retries are found then).
    recheck: float = 1.0
    # A claimed delivery is the replica's for so long (an attempt takes at most the POST's time
    # limit); a replica that died mid-attempt holds the delivery, and its webhook's pace slot,
    # until then. Set from DISTRIBUTION_WEBHOOK_TIMEOUT: three times it, at least 30 s.
    claim_seconds: float = 30.0
    # Least seconds from one pass to the next: a publish makes several changes in quick
    # succession, and under load many publishes do; each change only nudges, so a burst costs
    # one pass (one read of the enabled webhooks) per interval, not one per change. Bounds the
    # delay a delivery gains to this much.
    min_interval: float = 0.2

    @property
    def rules(self) -> DeliveryRules:
        return DeliveryRules(retry_scale=self.retry_scale, disable_window=self.disable_window)


@dataclass(frozen=True)
class Redelivered:
    """What RedeliverWebhookEvents queued: how many, and the delivery when it was one."""

    count: int
    delivery: Delivery | None = None


@dataclass(frozen=True)
class TestOutcome:
    """What SendTestWebhookEvent's POST got."""

    event_id: str
    attempt: Attempt


@dataclass
class WebhookUpdate:
    """An UpdateWebhook request as read from the wire: the mask and the webhook's fields."""

    paths: Sequence[str]
    url: str = ""
    event_kinds: Sequence[EventKind | None] = field(default_factory=list)
    description: str = ""
    enabled: bool = False


class Webhooks:
    """CreateWebhook, GetWebhook, ListWebhooks, UpdateWebhook, DeleteWebhook,
    ListWebhookDeliveries, RedeliverWebhookEvents, RotateWebhookSecret, SendTestWebhookEvent."""

    def __init__(
        self,
        store: WebhookStore,
        events: EventLog,
        subjects: EventSubjects,
        sender: WebhookSender,
        event_ids: EventIds,
        clock: Clock,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._subjects = subjects
        self._sender = sender
        self._ids = event_ids
        self._clock = clock
        self.policy = policy or WebhookPolicy()

    async def create(
        self, workspace_id: str, url: str, kinds: Sequence[EventKind | None], description: str
    ) -> tuple[Webhook, str]:
        """The new webhook and its secret (the only time the secret leaves the service)."""
        violations = [
            *self._url_violations("url", url),
            *kinds_violations("event_kinds", kinds),
            *_description_violations("description", description),
        ]
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
        limit = self.policy.per_workspace
        if not await self._store.create(webhook, secret, await self._events.last_position(), limit):
            # A cap only the caller frees (by deleting a webhook): no RetryInfo, the cap named.
            raise ResourceExhausted.cap_reached(
                reason="WEBHOOK_LIMIT_REACHED",
                message=(
                    f"This workspace has {limit} webhooks, the most it may have "
                    f"(DISTRIBUTION_WEBHOOKS_PER_WORKSPACE={limit}); delete one with DeleteWebhook first"
                ),
                violation=QuotaViolation(
                    subject=f"workspace:{workspace_id}",
                    description=(
                        f"webhooks per workspace: at most {limit}; delete one with DeleteWebhook to add another"
                    ),
                    quota_id="DISTRIBUTION_WEBHOOKS_PER_WORKSPACE",
                    quota_value=limit,
                ),
                metadata={"limit": str(limit)},
            )
        return webhook, secret

    def _url_violations(self, field_name: str, url: str) -> list[FieldViolation]:
        if not url:
            return [FieldViolation(field_name, "is required")]
        if len(url) > MAX_URL_LENGTH:
            return [FieldViolation(field_name, f"must be at most {MAX_URL_LENGTH} characters; got {len(url)}")]
        refusal = self._sender.url_refusal(url)
        return [] if refusal is None else [FieldViolation(field_name, f"cannot receive webhooks: {refusal}")]

    async def get(self, workspace_id: str, webhook_id: str) -> Webhook:
        webhook_id = check_id("id", webhook_id, "a webhook id")
        return _found(webhook_id, await self._store.get(workspace_id, webhook_id))

    async def list_page(self, workspace_id: str, requested_size: int, token: str) -> Page:
        size = page_size(requested_size)
        rows = await self._store.list_page(workspace_id, size + 1, decode_token(token, {"list": "webhooks"}))
        next_token = encode_token(rows[size - 1][1], {"list": "webhooks"}) if len(rows) > size else ""
        return Page([w for w, _ in rows[:size]], next_token)

    async def update(self, workspace_id: str, webhook_id: str, request: WebhookUpdate) -> Webhook:
        """AIP-134: changes the fields the mask names (with no mask, the fields the request
        sets); enabling a disabled webhook keeps its secret and starts it at the events of now."""
        webhook_id = canonical_id(webhook_id)
        violations = [v for v in [id_violation("webhook.id", webhook_id, "a webhook id")] if v is not None]
        paths = list(request.paths)
        if not paths:
            paths = [name for name, value in (
                ("url", request.url), ("event_kinds", request.event_kinds), ("description", request.description),
                ("enabled", request.enabled),
            ) if value]
        elif paths == ["*"]:
            paths = list(UPDATABLE)
        for index, path in enumerate(request.paths):
            if path not in UPDATABLE and request.paths != ["*"]:
                violations.append(FieldViolation(
                    f"update_mask.paths[{index}]",
                    f"names no field UpdateWebhook changes ({path!r}); use {', '.join(UPDATABLE)} or *",
                ))
        if "url" in paths:
            violations.extend(self._url_violations("webhook.url", request.url))
        if "event_kinds" in paths:
            violations.extend(kinds_violations("webhook.event_kinds", request.event_kinds))
        if "description" in paths:
            violations.extend(_description_violations("webhook.description", request.description))
        if violations:
            raise invalid(violations)
        changes = WebhookChanges(
            url=request.url if "url" in paths else None,
            event_kinds=(
                frozenset(k for k in request.event_kinds if k is not None) if "event_kinds" in paths else None
            ),
            description=request.description if "description" in paths else None,
            enabled=request.enabled if "enabled" in paths else None,
        )
        cursor = await self._events.last_position() if changes.enabled else START
        return _found(webhook_id, await self._store.update(workspace_id, webhook_id, changes, cursor))

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

    async def rotate_secret(self, workspace_id: str, webhook_id: str) -> tuple[Webhook, str]:
        """A new secret (shown only here); the one it replaces signs too for the overlap."""
        webhook_id = check_id("id", webhook_id, "a webhook id")
        secret = new_secret()
        expires = self._clock.now() + self.policy.secret_overlap
        return _found(webhook_id, await self._store.rotate_secret(workspace_id, webhook_id, secret, expires)), secret

    async def redeliver(
        self, workspace_id: str, webhook_id: str, since: datetime | None, delivery_id: str
    ) -> Redelivered:
        """Queues again, for one webhook, one delivery (by id) or every event of the workspace
        that happened at or after `since` (of the kinds it wants, up to the events already
        queued for it: later ones are queued anyway)."""
        webhook_id = canonical_id(webhook_id)
        delivery_id = canonical_id(delivery_id)
        now = self._clock.now()
        violations = [v for v in [id_violation("id", webhook_id, "a webhook id")] if v is not None]
        if (since is None) == (not delivery_id):
            violations.append(FieldViolation(
                "since_time" if since is None else "delivery_id",
                "set exactly one of since_time (every event since then) and delivery_id (one delivery)",
            ))
        elif delivery_id:
            violations.extend(v for v in [id_violation("delivery_id", delivery_id, "a delivery id")] if v is not None)
        elif since is not None and since > now + FUTURE_TOLERANCE:
            violations.append(FieldViolation("since_time", "must not be in the future"))
        elif since is not None and since < now - self.policy.redelivery_window:
            days = self.policy.redelivery_window / timedelta(days=1)
            violations.append(FieldViolation(
                "since_time", f"must be within the event retention window: at most {days:g} days ago",
            ))
        if violations:
            raise invalid(violations)
        webhook = _found(webhook_id, await self._store.get(workspace_id, webhook_id))
        if webhook.state != WebhookState.ENABLED:
            raise FailedPrecondition(
                reason="WEBHOOK_DISABLED",
                message=(
                    f"Webhook {webhook_id} is disabled, so nothing would be sent; enable it first "
                    "(UpdateWebhook with enabled: true), then redeliver"
                ),
                metadata={"webhook_id": webhook_id},
            )
        if delivery_id:
            earlier = await self._store.get_delivery(workspace_id, webhook_id, delivery_id)
            if earlier is None:
                raise NotFound(
                    reason="WEBHOOK_DELIVERY_NOT_FOUND",
                    message=f"No delivery {delivery_id} of webhook {webhook_id}; ListWebhookDeliveries lists them",
                    metadata={"delivery_id": delivery_id, "webhook_id": webhook_id},
                )
            again = NewDelivery(earlier.event_id, earlier.event_type, earlier.publish_id, earlier.body)
            queued = await self._store.redeliver(webhook_id, [again], now)
            return Redelivered(len(queued), queued[0] if queued else None)
        assert since is not None
        return Redelivered(await self._redeliver_since(webhook, since, now))

    async def _redeliver_since(self, webhook: Webhook, since: datetime, now: datetime) -> int:
        bound = await self._store.queue_position(webhook.id)
        position, count = START, 0
        while bound is not None:
            events = await self._events.workspace_events(
                webhook.workspace_id, position, PAGE, EventFilter(since=since)
            )
            within = [e for e in events if e.position <= bound]
            deliveries = await new_deliveries(self._subjects, self._ids, webhook, within)
            count += len(await self._store.redeliver(webhook.id, deliveries, now)) if deliveries else 0
            if len(within) < len(events) or len(events) < PAGE:
                break
            position = events[-1].position
        return count

    async def send_test(self, workspace_id: str, webhook_id: str) -> TestOutcome:
        """POSTs a signed `webhook.test` event to the webhook now (whether it is enabled or
        not: a receiver can be checked before it is re-enabled) and says what came back."""
        webhook = await self.get(workspace_id, webhook_id)
        now = self._clock.now()
        secrets = await self._store.signing_secrets(workspace_id, webhook.id, now)
        _found(webhook.id, webhook if secrets else None)
        assert secrets is not None
        event_id = f"test_{uuid.uuid4().hex}"
        body = json.dumps(
            {
                "type": TEST_EVENT_TYPE,
                "timestamp": now.isoformat(),
                "data": {
                    "event_id": event_id,
                    "webhook_id": webhook.id,
                    "message": "A test event sent by SendTestWebhookEvent; no publish changed.",
                },
            },
            separators=(",", ":"),
        )
        attempt = await self._sender.post(webhook.url, signed_headers(secrets, event_id, int(now.timestamp()), body),
                                          body)
        return TestOutcome(event_id, attempt)


def _description_violations(field_name: str, description: str) -> list[FieldViolation]:
    if len(description) > MAX_DESCRIPTION_LENGTH or not description.isprintable():
        return [FieldViolation(
            field_name, f"must be at most {MAX_DESCRIPTION_LENGTH} printable characters; got {len(description)}"
        )]
    return []


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
        events: EventLog,
        subjects: EventSubjects,
        publish_log: PublishLog,
        sender: WebhookSender,
        event_ids: EventIds,
        clock: Clock,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._subjects = subjects
        self._log = publish_log
        self._sender = sender
        self._ids = event_ids
        self._clock = clock
        self.policy = policy or WebhookPolicy()
        self._wake = asyncio.Event()
        self._background = BackgroundLoop("webhooks", self._run)
        self._stop_listening: Callable[[], None] = lambda: None
        self._in_flight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._stop_listening = self._log.on_any_change(self._wake.set)
        self._background.start()

    async def stop(self) -> None:
        self._stop_listening()
        await self._background.stop()
        # An attempt cut short leaves its claim to lapse: it is made again (at least once).
        for task in list(self._in_flight):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:  # the store away, say: try again at the next pass
                log.exception("webhook pass failed")
            await asyncio.sleep(self.policy.min_interval)  # nudges meanwhile set _wake: none is lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.policy.recheck):
                    await self._wake.wait()

    async def _pass(self) -> None:
        """Queues new events, then starts as many due attempts as this replica has room for,
        each on a task of its own: a slow receiver holds up no other webhook. An attempt that
        ends wakes the loop to start the next."""
        if not await self._queue_all() and not self._in_flight:
            return
        room = self.policy.concurrency - len(self._in_flight)
        if room <= 0:
            return
        for due in await self._claim(room):
            task = asyncio.get_running_loop().create_task(self._attempt(due), name="webhook-attempt")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def run_once(self) -> int:
        """Queues new events for every enabled webhook, then makes the due attempts (paced as
        the background loop paces them) until none is due; returns how many were made."""
        if not await self._queue_all():
            return 0  # the common case: no store work on every publish change beyond this read
        attempts = 0
        while True:
            due = await self._claim(self.policy.concurrency)
            if not due:
                return attempts
            await asyncio.gather(*(self._attempt(d) for d in due))
            attempts += len(due)

    async def _queue_all(self) -> bool:
        """Queues every enabled webhook's new events; False when there is no enabled webhook."""
        hooks = await self._store.enabled()
        for webhook, cursor in hooks:
            await self._queue(webhook, cursor)
        return bool(hooks)

    async def _claim(self, limit: int) -> list[DueDelivery]:
        now = self._clock.now()
        return await self._store.claim_due(
            now, now + timedelta(seconds=self.policy.claim_seconds), limit, self.policy.per_webhook
        )

    async def _queue(self, webhook: Webhook, cursor: EventPosition) -> None:
        while True:
            events = await self._events.workspace_events(webhook.workspace_id, cursor, PAGE)
            if not events:
                return
            deliveries = await new_deliveries(self._subjects, self._ids, webhook, events)
            if not await self._store.advance(webhook.id, cursor, events[-1].position, deliveries, self._clock.now()):
                return  # another replica queued these
            cursor = events[-1].position
            if len(events) < PAGE:
                return

    async def _attempt(self, due: DueDelivery) -> None:
        delivery = due.delivery
        links = await self._publish_link(delivery)
        now = self._clock.now()
        headers = signed_headers(due.secrets, delivery.event_id, int(now.timestamp()), delivery.body)
        # A trace of its own per attempt, linked to the request that created the publish; the
        # span names the webhook and event, never the URL (it may hold a receiver's token) nor
        # a secret or the signed body.
        with self._log.tracer.span(
            "webhook.deliver",
            {"distribution.webhook_id": delivery.webhook_id, "distribution.event_type": delivery.event_type,
             "distribution.publish_id": delivery.publish_id, "distribution.delivery_attempt": delivery.attempts + 1},
            links=links,
        ) as span:
            attempt = await self._sender.post(due.url, headers, delivery.body)
            span.set("http.response.status_code", attempt.status_code)
            if not attempt.ok:
                span.failed(attempt.error or f"HTTP {attempt.status_code}")
        await self._store.record_attempt(delivery.id, attempt, now, self.policy.rules)
        if not attempt.ok:
            log.info(
                "webhook delivery attempt failed",
                extra={
                    "webhook_id": delivery.webhook_id, "event_id": delivery.event_id,
                    "attempt": delivery.attempts + 1, "status_code": attempt.status_code,
                    "error": attempt.error, "retry_after": attempt.retry_after,
                },
            )

    async def _publish_link(self, delivery: Delivery) -> list[str]:
        """The traceparent of the span the delivery's publish was created in (its record keeps
        it), so one trace id finds the publish's webhook attempts too; none while tracing is
        off, for an event of no publish, or a publish created untraced."""
        if not self._log.tracer.enabled or not delivery.publish_id:
            return []
        publish = await self._log.get(delivery.publish_id)
        return [publish.traceparent] if publish is not None and publish.traceparent else []


async def new_deliveries(
    subjects: EventSubjects, event_ids: EventIds, webhook: Webhook, events: Sequence[WorkspaceEvent]
) -> list[NewDelivery]:
    """One delivery per event of a kind the webhook wants, its body built from the publish or
    account as read now."""
    wanted = [e for e in events if webhook.wants(e.kind)]
    if not wanted:
        return []
    found = await subjects.load(webhook.workspace_id, wanted)
    deliveries = []
    for event in wanted:
        event_id = event_ids.token(webhook.workspace_id, event.position)
        publish, account = found.publish_of(event), found.account_of(event)
        body = payload(event, event_id, publish) if publish is not None else account_payload(event, event_id, account)
        deliveries.append(NewDelivery(
            event_id=event_id, event_type=event.kind.value, publish_id=event.publish_id, body=body,
        ))
    return deliveries


def payload(event: WorkspaceEvent, event_id: str, publish: Publish) -> str:
    """The JSON body: Standard Webhooks' shape (type, timestamp, data)."""
    e = event.event
    assert e is not None
    body = {
        "type": kind_of(e).value,
        "timestamp": e.time.isoformat() if e.time else None,
        "data": {
            "event_id": event_id,
            "publish_id": event.publish_id,
            "account_id": event.account_id,
            "platform": event.platform.value,
            "event": {
                "sequence": e.sequence,
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
    return _json(body)


def account_payload(event: WorkspaceEvent, event_id: str, account: Account | None) -> str:
    """An account event's JSON body, shaped as a publish event's: the event, then the account
    as read now (its fields as Account names them; never a token)."""
    e = event.account_event
    assert e is not None and account is not None
    health = account.health
    quota = health.quota if health is not None else None
    creator = health.facts.creator if health is not None else None
    body = {
        "type": e.kind.value,
        "timestamp": e.time.isoformat(),
        "data": {
            "event_id": event_id,
            "account_id": event.account_id,
            "platform": event.platform.value,
            "event": {"type": e.kind.value, "message": e.message, "details": e.details},
            "account": {
                "id": account.id,
                "platform": account.platform.value,
                "external_account_id": account.external_account_id,
                "username": account.username,
                "state": account.state.value,
                "health_state": health.state.value if health is not None else None,
                "access_token_expire_time": _time(account.access_token_expires_at),
                "refresh_token_expire_time": _time(account.refresh_token_expires_at),
                "has_refresh_token": account.has_refresh_token,
                "instagram_quota_usage": quota.usage if quota is not None else None,
                "instagram_quota_total": quota.total if quota is not None else None,
                "tiktok_can_post": creator.can_post if creator is not None else None,
                "tiktok_cannot_post_reason": creator.cannot_post_reason if creator is not None else "",
                "update_time": account.updated_at.isoformat(),
            },
        },
    }
    return _json(body)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(body: Mapping[str, object]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
