"""Webhooks: registrations, their deliveries, the Standard Webhooks signature and the retry
schedule. Pure rules; the dispatcher (server/services/webhooks.py) runs them.

Signature (https://www.standardwebhooks.com, as receivers' libraries verify it): the secret is
"whsec_" + base64 of random bytes; each POST carries `webhook-id` (the event id, the same on
every retry, for de-duplication), `webhook-timestamp` (unix seconds of this attempt) and
`webhook-signature`: "v1," + base64(HMAC-SHA256(key = the secret's bytes,
msg = f"{id}.{timestamp}.{body}")).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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
# Failed attempts in a row (any delivery of the webhook; a 2xx resets the count) after which
# the webhook is disabled, as Zernio does.
DISABLE_AFTER = 10


class EventKind(str, enum.Enum):
    PUBLISH_STATE_CHANGED = "publish.state_changed"
    PUBLISH_UPDATED = "publish.updated"


def kind_of(event: PublishEvent) -> EventKind:
    return EventKind.PUBLISH_STATE_CHANGED if event.state is not None else EventKind.PUBLISH_UPDATED


class WebhookState(str, enum.Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class DeliveryState(str, enum.Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


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

    def wants(self, kind: EventKind) -> bool:
        return not self.event_kinds or kind in self.event_kinds


@dataclass(frozen=True)
class NewDelivery:
    """An event queued for one webhook: the body is fixed here, so every retry sends the same."""

    event_id: str
    event_type: str
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


@dataclass(frozen=True)
class Attempt:
    """What one POST got: a status code (0 for none) and, when it failed, why."""

    status_code: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300 and not self.error


def disabled_reason(count: int, attempt: Attempt) -> str:
    last = attempt.error or f"HTTP {attempt.status_code}"
    return f"disabled after {count} failed delivery attempts in a row; the last: {last}"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for: its base64 part, decoded."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: str | bytes) -> str:
    """The `webhook-signature` header value for one attempt."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{message_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def next_attempt(attempts: int, now: datetime, scale: float = 1.0, rng: random.Random | None = None) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once the schedule is spent.
    `scale` shrinks the schedule (tests run it in milliseconds)."""
    if attempts < 1 or attempts > len(RETRY_SCHEDULE):
        return None
    step = RETRY_SCHEDULE[attempts - 1] * scale
    jitter = (rng or random).uniform(-JITTER, JITTER) * step
    return now + timedelta(seconds=step + jitter)


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for an attempt, with where it goes and the opened secret."""

    delivery: Delivery
    url: str
    secret: str

    def __repr__(self) -> str:  # the secret never reaches a log through a repr
        return f"DueDelivery(delivery={self.delivery.id!r}, url={self.url!r}, secret=<not shown>)"
