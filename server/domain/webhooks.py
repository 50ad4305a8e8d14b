"""Webhooks: registrations, their deliveries, the Standard Webhooks signature and the retry
schedule. Pure rules; the dispatcher (server/services/webhooks.py) runs them.

Signature (https://www.standardwebhooks.com, as receivers' libraries verify it): the secret is
"whsec_" + base64 of random bytes; each POST carries `webhook-id` (the event id, the same on
every retry, for de-duplication), `webhook-timestamp` (unix seconds of this attempt) and
`webhook-signature`: "v1," + base64(HMAC-SHA256(key = the secret's bytes,
msg = f"{id}.{timestamp}.{body}")), one such signature per secret in force, separated by
spaces (during a rotation's overlap: the new secret's and the old one's).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from server.domain.errors import FieldViolation
from server.domain.models import PublishEvent

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500

# Standard Webhooks' recommended schedule after the first attempt (made at once): 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h; a delivery is given up after the last (about 27.6 hours in all).
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
# Each wait is drawn within +-20% of its step, so receivers that failed together do not get
# every retry at the same instant.
JITTER = 0.2
# A receiver's Retry-After is honoured up to the schedule's longest step: a wait it asks for
# beyond that is cut to it (the delivery is still given up after its last attempt).
MAX_RETRY_AFTER = max(RETRY_SCHEDULE)
# How long every attempt to a webhook must have failed before it is disabled (as Svix: an
# endpoint failing for 5 days is disabled), counted from the first failure of an unbroken run.
DISABLE_WINDOW = timedelta(days=5)
# The type of the event SendTestWebhookEvent sends; no webhook subscribes to it.
TEST_EVENT_TYPE = "webhook.test"


class EventKind(str, enum.Enum):
    """The kinds of events a webhook may subscribe to: the payload's `type`. New kinds are
    added here (and to the contract's WebhookEventKind); nothing else lists them."""

    PUBLISH_STATE_CHANGED = "publish.state_changed"
    PUBLISH_UPDATED = "publish.updated"
    # Account events (server/domain/account_events.py): what an account's owner must act on.
    ACCOUNT_TOKEN_EXPIRING = "account.token_expiring"
    ACCOUNT_QUOTA_LOW = "account.quota_low"
    ACCOUNT_REAUTH_REQUIRED = "account.reauth_required"
    ACCOUNT_RECONNECTED = "account.reconnected"

    @property
    def of_accounts(self) -> bool:
        return self.value.startswith("account.")


# What a workspace stream sends when its caller names no kinds: the publish events it has
# always sent. Account events come only to a caller that asks for them, so a client written
# for publish events never receives a message without a publish. (A webhook with no kinds
# takes every kind: its payload's `type` tells a receiver what it holds.)
STREAM_DEFAULT_KINDS: frozenset[EventKind] = frozenset(k for k in EventKind if not k.of_accounts)


def kind_of(event: PublishEvent) -> EventKind:
    return EventKind.PUBLISH_STATE_CHANGED if event.state is not None else EventKind.PUBLISH_UPDATED


def kinds_violations(field_name: str, kinds: Sequence[EventKind | None]) -> list[FieldViolation]:
    """Each kind named is one (None: a number that names none), and none twice over."""
    if len(kinds) > len(EventKind):
        return [FieldViolation(
            field_name, f"names each kind at most once: at most {len(EventKind)} entries; got {len(kinds)}"
        )]
    names = " or ".join(f"WEBHOOK_EVENT_KIND_{k.name}" for k in EventKind)
    return [FieldViolation(f"{field_name}[{index}]", f"must be {names}") for index, kind in enumerate(kinds)
            if kind is None]


class WebhookState(str, enum.Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class DeliveryState(str, enum.Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    # Ended unsent (or unretried) because its webhook was disabled; a redelivery sends it again.
    ABANDONED = "ABANDONED"


@dataclass(frozen=True)
class Webhook:
    id: str
    workspace_id: str
    url: str
    event_kinds: frozenset[EventKind]
    description: str
    created_at: datetime
    state: WebhookState = WebhookState.ENABLED
    disabled_reason: str = ""
    consecutive_failures: int = 0
    # When the current unbroken run of failed attempts began; None once an attempt succeeds.
    failing_since: datetime | None = None
    # No attempt is made before this (a receiver's Retry-After, a pause after it failed).
    paused_until: datetime | None = None
    # While in the future, deliveries are also signed with the secret before the last rotation.
    previous_secret_expires_at: datetime | None = None

    def wants(self, kind: EventKind) -> bool:
        return not self.event_kinds or kind in self.event_kinds


@dataclass(frozen=True)
class WebhookChanges:
    """What UpdateWebhook changes: each field None leaves it as it is."""

    url: str | None = None
    event_kinds: frozenset[EventKind] | None = None
    description: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class NewDelivery:
    """An event queued for one webhook: the body is fixed here, so every retry sends the same."""

    event_id: str
    event_type: str
    # Empty for an account event.
    publish_id: str
    body: str


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    workspace_id: str
    event_id: str
    event_type: str
    publish_id: str
    body: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int = 0
    last_error: str = ""
    # Queued again by hand (RedeliverWebhookEvents), not by the event itself.
    redelivery: bool = False


@dataclass(frozen=True)
class Attempt:
    """What one POST got: a status code (0 for none), why it failed, the seconds the receiver
    asked to wait (Retry-After on a 429 or 503) and how long it took to answer."""

    status_code: int
    error: str = ""
    retry_after: float | None = None
    seconds: float = field(default=0.0, compare=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300 and not self.error

    @property
    def receiver_in_trouble(self) -> bool:
        """The receiver, not this one event, failed: no answer, a timeout, overload or a 5xx.
        Its other deliveries wait a little rather than fail too."""
        return not self.ok and (self.status_code in (0, 408, 429) or self.status_code >= 500)


@dataclass(frozen=True)
class DeliveryRules:
    """How attempts are paced and when a webhook is given up, for the stores to apply."""

    # Multiplies the retry schedule and the pause after a failure (tests shrink it).
    retry_scale: float = 1.0
    # Every attempt failing for this long disables the webhook.
    disable_window: timedelta = DISABLE_WINDOW


@dataclass(frozen=True)
class WebhookHealth:
    """The part of a webhook every attempt's outcome changes, read and written in one step."""

    state: WebhookState
    disabled_reason: str
    consecutive_failures: int
    failing_since: datetime | None
    paused_until: datetime | None


@dataclass(frozen=True)
class AttemptOutcome:
    """A recorded attempt: the delivery's new state and next attempt, the webhook's health,
    and whether the webhook's other pending deliveries end (it was disabled by this one)."""

    state: DeliveryState
    next_attempt_at: datetime | None
    health: WebhookHealth
    abandon_pending: bool


def settle_attempt(
    health: WebhookHealth, delivery: Delivery, attempt: Attempt, at: datetime, rules: DeliveryRules,
    rng: random.Random | None = None,
) -> AttemptOutcome:
    """The one rule for what an attempt changes. A success anywhere ends the webhook's run of
    failures; a failure starts one (or continues it), and a run that has lasted the disable
    window disables the webhook, ending its pending deliveries. A failed delivery is retried
    on the schedule (no sooner than a Retry-After), or FAILED once it is spent; one whose
    webhook is disabled is ABANDONED instead of waiting for a retry that will not come."""
    if attempt.ok:
        # A pause the receiver asked for is waited out even when an attempt in flight got through.
        if health.state == WebhookState.ENABLED:
            health = replace(health, consecutive_failures=0, failing_since=None)
        return AttemptOutcome(DeliveryState.DELIVERED, None, health, abandon_pending=False)
    abandon = False
    if health.state == WebhookState.ENABLED:
        since = min(health.failing_since, at) if health.failing_since is not None else at
        pause = pause_until(attempt, at, rules.retry_scale)
        paused = max((t for t in (health.paused_until, pause) if t is not None), default=None)
        health = replace(
            health, consecutive_failures=health.consecutive_failures + 1, failing_since=since, paused_until=paused
        )
        if at - since >= rules.disable_window:
            health = replace(
                health, state=WebhookState.DISABLED, disabled_reason=disabled_reason(since, at, attempt),
                paused_until=None,
            )
            abandon = True
    if health.state == WebhookState.DISABLED or delivery.state == DeliveryState.ABANDONED:
        return AttemptOutcome(DeliveryState.ABANDONED, None, health, abandon_pending=abandon)
    retry_at = next_attempt(delivery.attempts + 1, at, rules.retry_scale, rng, attempt.retry_after)
    state = DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
    return AttemptOutcome(state, retry_at, health, abandon_pending=False)


def pause_until(attempt: Attempt, at: datetime, scale: float) -> datetime | None:
    """Until when a webhook's other deliveries wait after this failed attempt: as long as the
    receiver asked (Retry-After), else the schedule's first step when the receiver itself is in
    trouble; None for a failure of this one event (a 4xx)."""
    if attempt.retry_after is not None:
        return at + timedelta(seconds=min(attempt.retry_after, MAX_RETRY_AFTER))
    if attempt.receiver_in_trouble:
        return at + timedelta(seconds=RETRY_SCHEDULE[0] * scale)
    return None


def disabled_reason(since: datetime, at: datetime, attempt: Attempt) -> str:
    last = attempt.error or f"HTTP {attempt.status_code}"
    days = (at - since) / timedelta(days=1)
    return (
        f"every delivery attempt failed from {since.isoformat(timespec='seconds')} to "
        f"{at.isoformat(timespec='seconds')} ({days:.3g} days); the last error: {last}"
    )


MANUALLY_DISABLED = "disabled by UpdateWebhook"


@dataclass(frozen=True)
class ChangedWebhook:
    """A webhook after UpdateWebhook's changes: whether its queue starts again from now (it was
    enabled again) and whether its pending deliveries end (it was disabled)."""

    webhook: Webhook
    restart_queue: bool
    abandon_pending: bool


def apply_changes(current: Webhook, changes: WebhookChanges) -> ChangedWebhook:
    """The one rule for what UpdateWebhook changes. Enabling a disabled webhook clears its run of
    failures and its pause and starts it at the events of now (its secret is kept); disabling an
    enabled one ends its pending deliveries; a new URL starts with a clean record (the failures
    were the old receiver's)."""
    webhook = current
    if changes.url is not None and changes.url != current.url:
        webhook = replace(webhook, url=changes.url, consecutive_failures=0, failing_since=None, paused_until=None)
    if changes.event_kinds is not None:
        webhook = replace(webhook, event_kinds=changes.event_kinds)
    if changes.description is not None:
        webhook = replace(webhook, description=changes.description)
    restart = changes.enabled is True and current.state == WebhookState.DISABLED
    if restart:
        webhook = replace(
            webhook, state=WebhookState.ENABLED, disabled_reason="", consecutive_failures=0, failing_since=None,
            paused_until=None,
        )
    abandon = changes.enabled is False and current.state == WebhookState.ENABLED
    if abandon:
        webhook = replace(webhook, state=WebhookState.DISABLED, disabled_reason=MANUALLY_DISABLED, paused_until=None)
    return ChangedWebhook(webhook, restart_queue=restart, abandon_pending=abandon)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for: its base64 part, decoded."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: str | bytes) -> str:
    """One signature ("v1," + base64) for one attempt."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{message_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secrets_: Sequence[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The headers of one attempt. `webhook-signature` holds one signature per secret,
    separated by spaces (Standard Webhooks): during a rotation's overlap the new secret's and
    the old one's, so a receiver holding either verifies it."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, message_id, timestamp, body) for s in secrets_),
    }


def next_attempt(
    attempts: int, now: datetime, scale: float = 1.0, rng: random.Random | None = None,
    retry_after: float | None = None,
) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once the schedule is spent.
    `scale` shrinks the schedule (tests run it in milliseconds); a receiver's `retry_after`
    (seconds) is waited at least, up to MAX_RETRY_AFTER."""
    if attempts < 1 or attempts > len(RETRY_SCHEDULE):
        return None
    step = RETRY_SCHEDULE[attempts - 1] * scale
    wait = step + (rng or random).uniform(-JITTER, JITTER) * step
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return now + timedelta(seconds=wait)


def signing_secrets(current: str, previous: str | None, previous_expires_at: datetime | None,
                    now: datetime) -> tuple[str, ...]:
    """The secrets an attempt at `now` is signed with: the current one, and the one before the
    last rotation while its overlap lasts."""
    if previous and previous_expires_at is not None and now < previous_expires_at:
        return (current, previous)
    return (current,)


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for an attempt, with where it goes and the opened secrets."""

    delivery: Delivery
    url: str
    secrets: tuple[str, ...]

    def __repr__(self) -> str:  # the secrets never reach a log through a repr
        return f"DueDelivery(delivery={self.delivery.id!r}, url={self.url!r}, secrets=<not shown>)"
