"""Ports: every outside thing the use cases need, as Protocols.

Adapters implement them (server/adapters: SQLite, the platforms' HTTP APIs, Prometheus);
the unit tests implement them with in-memory fakes. Each store port has one contract
test suite that every implementation passes (tests/contracts).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from server.domain.account_events import REJECTED, Condition
from server.domain.changes import PublishChange
from server.domain.connections import AuthorizationRequest, Claim, ConnectedIdentity, PendingConnection, PkceMethod
from server.domain.events import EventFilter, EventPosition, WorkspaceEvent
from server.domain.health import CreatorStatus, HealthFacts, PlatformFailureNote, QuotaStatus
from server.domain.models import (
    Account,
    Credentials,
    Inspection,
    Media,
    NewAccount,
    Platform,
    Publish,
    PublishEvent,
    PublishFilter,
    PublishState,
    PublishVersion,
)
from server.domain.options import UserTag
from server.domain.pagination import Cursor
from server.domain.platforms import (
    ContainerStatus,
    CreatorInfo,
    IgComment,
    IgMedia,
    PhotoPost,
    PublishingLimit,
    PublishStatus,
    TokenGrant,
    VideoInit,
    VideoPost,
)
from server.domain.webhooks import (
    Attempt,
    Delivery,
    DeliveryRules,
    DueDelivery,
    NewDelivery,
    Webhook,
    WebhookChanges,
)

# --- stores -------------------------------------------------------------------------------


class AccountStore(Protocol):
    """Connected accounts. Tokens are sealed at rest by the store and opened on `credentials`."""

    async def upsert(self, new: NewAccount) -> Account:
        """Connects an account, or reconnects (new tokens, ACTIVE) the one with the same
        workspace, platform and external id, keeping its id; a reconnect appends its
        account.reconnected event (with the state before) in the same write."""
        ...

    async def get(self, workspace_id: str, account_id: str) -> Account | None: ...

    async def credentials(self, account_id: str) -> Credentials | None:
        """The account's tokens; None once it is disconnected."""
        ...

    async def list_page(
        self,
        workspace_id: str,
        limit: int,
        cursor: Cursor | None,
        platform: Platform | None,
        show_disconnected: bool,
    ) -> list[tuple[Account, Cursor]]:
        """Newest first, after `cursor`; each account with the cursor that follows it."""
        ...

    async def save_tokens(
        self,
        account_id: str,
        *,
        access_token: str,
        refresh_token: str | None,
        access_token_expires_at: datetime | None,
        refresh_token_expires_at: datetime | None,
    ) -> None:
        """Stores a refreshed pair in one write: a rotated refresh token is never lost. A
        disconnected account keeps no tokens: a refresh that ends after the disconnect stores
        nothing."""
        ...

    async def mark_needs_reconnect(self, account_id: str, reason: str = REJECTED, platform_code: str = "") -> None:
        """The platform rejected the stored token (only an ACTIVE account changes); the change
        appends its account.reauth_required event (server/domain/account_events.py) to the
        event log in the same write, so it is sent once."""
        ...

    async def disconnect(self, workspace_id: str, account_id: str) -> Account | None:
        """Erases the tokens and marks it DISCONNECTED (idempotent); None if not found."""
        ...


class ConnectionStore(Protocol):
    """Connections in progress (StartAccountConnection to CompleteAccountConnection). Each is
    claimed once, across every replica sharing the database: a `state` is single-use."""

    @property
    def signing_keys(self) -> Sequence[bytes]:
        """Keys a `state` is signed under: the first signs, all verify (so a key rotation
        leaves no connection in progress unreadable). Every replica has the same."""
        ...

    async def add(self, pending: PendingConnection) -> None:
        """Keeps a new connection in progress; forgets those expired before its creation."""
        ...

    async def claim(self, workspace_id: str, nonce: str, now: datetime) -> Claim:
        """Marks the workspace's connection `nonce` used at `now` and returns it; at most one
        of any number of concurrent claims gets it. A used one comes back as
        `Claim(None, already_used=True)`, an unknown one (or another workspace's) as `Claim(None)`."""
        ...


class MediaStore(Protocol):
    async def insert(self, media: Media) -> None: ...

    async def get(self, workspace_id: str, media_id: str) -> Media | None: ...

    async def get_many(self, workspace_id: str, media_ids: Sequence[str]) -> dict[str, Media]:
        """The media among `media_ids` that exist in the workspace, by id."""
        ...

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Media, Cursor]]:
        """Newest first, after `cursor`; each item with the cursor that follows it."""
        ...

    async def save_inspection(self, media: Media) -> None:
        """Stores the media's new inspection and the facts it fixed (mime type, kind, width,
        height, size): `media` as `server.domain.media.with_inspection` made it."""
        ...


@dataclass(frozen=True)
class CreateConflict:
    """Why `PublishWrites.create` wrote nothing: `existing` holds the request_id already
    ("request_id"), or published the same content to the same account lately ("duplicate")."""

    reason: Literal["request_id", "duplicate"]
    existing: Publish


# The publish log is one table of records and one of their timelines, used in four roles.
# One adapter class implements them all (PublishStore); each caller is given the role it
# uses. Every write of a record goes through the unit of work (services: PublishLog), the
# only holder of the writing roles, which announces each change it makes.


class PublishRecords(Protocol):
    """Reading publish records."""

    async def get(self, publish_id: str) -> Publish | None: ...

    async def get_in_workspace(self, workspace_id: str, publish_id: str) -> Publish | None: ...

    async def get_many(self, workspace_id: str, publish_ids: Sequence[str]) -> list[Publish]:
        """The workspace's records among these ids, in no particular order."""
        ...

    async def list_page(
        self, workspace_id: str, limit: int, cursor: Cursor | None, where: PublishFilter
    ) -> list[tuple[PublishVersion, Cursor]]:
        """Newest first, after `cursor`: each publish as its id and revision."""
        ...

    async def find_by_request_id(self, workspace_id: str, request_id: str) -> Publish | None: ...

    async def recent_same_content(
        self, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
    ) -> Publish | None:
        """The newest publish of this content to this account since `since` that did not
        fail (a failed publish posted nothing)."""
        ...

    async def claimed_ig_media_ids(self, account_id: str, candidates: Sequence[str]) -> set[str]:
        """Which of these IG media ids other publishes of the account already recorded."""
        ...


class PublishWrites(Protocol):
    """Writing publish records: a record and the events describing its change are written
    together (all or nothing), and every change bumps the record's `revision`."""

    async def create(
        self, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        """Inserts the publish (with its lease and schedule, if set) and its first events, in
        order, and returns None. Writes nothing and returns the conflict when the request_id
        is already taken in the workspace, or (with `duplicate_since`, for a publish without
        request_id) when a publish of the same content to the same account since then did
        not fail. Check and insert are one atomic step, across replicas too."""
        ...

    async def apply(
        self,
        publish_id: str,
        change: PublishChange,
        events: Sequence[PublishEvent],
        *,
        owner: str | None = None,
        expected: Publish | None = None,
    ) -> Publish:
        """Writes `change` and appends `events` (in order; an event without a time happened
        now), in one write, and returns the record after it.

        The write is made only while the record is in a state `change.allowed_from()`
        names (else IllegalTransition) and, with `owner`, only while that owner holds the
        lease (else LeaseLost); a refused write writes nothing; no such publish is KeyError.
        `expected` is the record as the caller last had it: when nothing else changed it
        since (the write's revision is the one after it), a store may build the result from
        it instead of reading the row back; the result is the same either way."""
        ...


class PublishLeases(Protocol):
    """A run drives a publish only while its replica holds the publish's lease. Every write a
    run makes names its owner (PublishWrites.apply), and a write whose owner no longer holds
    the lease is refused, so two replicas never drive one publish. A run's last write clears
    the lease (its change's `lease=CLEAR`)."""

    async def claim_orphans(self, owner: str, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        """Takes over up to `limit` unfinished publishes that no run holds (no owner, or a
        lease that ended before `now`), oldest first, and returns them as now owned. In the
        same step, a finished publish whose lease ended before `now` (its run died after its
        last write) is left unowned: done."""
        ...

    async def renew_leases(self, owner: str, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        """Extends the leases `owner` still holds among `publish_ids`; returns those ids.
        (The record's revision stays: a renewal changes nothing a reader is shown.)"""
        ...


class DueWork(Protocol):
    """The two queues in the publish log: scheduled publishes waiting for their time, and
    late facts waiting for their next check."""

    async def claim_due_schedules(
        self, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int,
        trace_id: str = "",
    ) -> list[Publish]:
        """Takes up to `limit` SCHEDULED publishes whose schedule_time is at or before `now`,
        soonest first, each written in one step with its events as
        server.domain.schedule.due_change decides (started, leased to `owner` until
        `lease_until`; or MISSED), the events naming `trace_id` (the claim's trace). Each
        due publish is claimed by exactly one caller, across replicas too, and never
        together with a cancel or a reschedule (whichever writes first wins)."""
        ...

    async def next_schedule_time(self) -> datetime | None:
        """The earliest schedule_time of a SCHEDULED publish; None when none waits."""
        ...

    async def claim_due_for_reconcile(self, now: datetime, hold_until: datetime, limit: int) -> list[Publish]:
        """Publishes whose late-fact check is due, soonest first, each claimed by moving its
        check to `hold_until` in the same step, so that one replica checks it; the checker
        then records the real next time (or a crash lets the claim lapse and it is retried).
        (The revision stays: the claim is the queue's, not a change a reader is shown.)"""
        ...

    async def next_reconcile_at(self) -> datetime | None: ...


class EventLog(Protocol):
    """The timelines, per publish and as one workspace stream (server/domain/events.py): every
    timeline event and account event of a workspace in one order in which no reader ever sees
    a later event before an earlier one that commits after it."""

    async def events(self, publish_id: str, after: int = 0) -> list[PublishEvent]:
        """The timeline, oldest first; `after` skips events up to that id."""
        ...

    async def workspace_events(
        self, workspace_id: str, after: EventPosition, limit: int, where: EventFilter | None = None
    ) -> list[WorkspaceEvent]:
        """Up to `limit` events of the workspace after `after`, in stream order; only events
        whose order is settled (no event may later appear before them)."""
        ...

    async def event_time(self, workspace_id: str, position: EventPosition) -> datetime | None:
        """When the workspace's event at exactly this position happened; None if there is none."""
        ...

    async def last_position(self) -> EventPosition:
        """The position of the last settled event (START when there is none): a stream that
        starts here sees every event settled after it."""
        ...


class PublishStore(PublishRecords, PublishWrites, PublishLeases, DueWork, EventLog, Protocol):
    """The publish log in every role, as one database implements it."""


class WebhookStore(Protocol):
    """Webhook registrations (secrets sealed at rest, like tokens), each with the stream
    position up to which its events are queued, and the deliveries queued for them."""

    async def create(self, webhook: Webhook, secret: str, cursor: EventPosition, limit: int) -> bool:
        """Registers it; events after `cursor` will be queued for it. False (nothing written)
        when its workspace has `limit` webhooks already, counted in the same step: concurrent
        creates never pass the limit together."""
        ...

    async def get(self, workspace_id: str, webhook_id: str) -> Webhook | None: ...

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Webhook, Cursor]]:
        """Newest first, after `cursor`."""
        ...

    async def delete(self, workspace_id: str, webhook_id: str) -> bool:
        """Deletes it and its deliveries; False if there was none."""
        ...

    async def update(
        self, workspace_id: str, webhook_id: str, changes: WebhookChanges, cursor: EventPosition
    ) -> Webhook | None:
        """Applies `changes` in one write; None if there is no such webhook. Enabling a disabled
        webhook clears its failures and pause and moves its queue position to `cursor` (events
        from now on); disabling an enabled one ends its pending deliveries (ABANDONED)."""
        ...

    async def rotate_secret(
        self, workspace_id: str, webhook_id: str, secret: str, previous_expires_at: datetime
    ) -> Webhook | None:
        """Makes `secret` the current one; the one it replaces keeps signing until
        `previous_expires_at` (one before that is dropped). None if there is no such webhook."""
        ...

    async def signing_secrets(self, workspace_id: str, webhook_id: str, now: datetime) -> tuple[str, ...] | None:
        """The secrets an attempt made now is signed with (server.domain.webhooks.signing_secrets)."""
        ...

    async def queue_position(self, webhook_id: str) -> EventPosition | None:
        """The stream position up to which the webhook's events are queued."""
        ...

    async def enabled(self) -> list[tuple[Webhook, EventPosition]]:
        """Every enabled webhook (all workspaces) with the position its queue has reached."""
        ...

    async def advance(
        self, webhook_id: str, seen: EventPosition, to: EventPosition, deliveries: Sequence[NewDelivery],
        now: datetime,
    ) -> bool:
        """Queues `deliveries` and moves the webhook's position from `seen` to `to`, in one
        step, only if it is still at `seen` and the webhook is enabled (else nothing written,
        False). An event is queued by the stream at most once per webhook."""
        ...

    async def redeliver(self, webhook_id: str, deliveries: Sequence[NewDelivery], now: datetime) -> list[Delivery]:
        """Queues `deliveries` again, each a new delivery (redelivery) due at `now`, whatever
        was queued for the same events before; nothing (an empty list) unless the webhook is
        enabled, checked in the same step, so no delivery waits on a disabled webhook."""
        ...

    async def get_delivery(self, workspace_id: str, webhook_id: str, delivery_id: str) -> Delivery | None: ...

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int, per_webhook: int) -> list[DueDelivery]:
        """Up to `limit` pending deliveries of enabled, unpaused webhooks due by `now`, oldest
        first, each claimed until `hold_until` in the same step (one replica sends it; a crash
        lets the claim lapse and it is sent again: at least once), never more than
        `per_webhook` claimed at once for one webhook, counting every replica's claims."""
        ...

    async def record_attempt(self, delivery_id: str, attempt: Attempt, at: datetime, rules: DeliveryRules) -> None:
        """Logs one attempt and applies its outcome (server.domain.webhooks.settle_attempt) to
        the delivery, the webhook and, when it disables the webhook, its pending deliveries,
        all in one write; releases the claim."""
        ...

    async def list_deliveries(
        self, workspace_id: str, webhook_id: str, limit: int, cursor: Cursor | None
    ) -> list[tuple[Delivery, Cursor]]:
        """The webhook's deliveries, newest first, after `cursor`."""
        ...


# --- coordination: what must hold once across every replica sharing a database ------------


class Locks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Holds the named lock (e.g. one token refresh per account at a time) until exit."""
        ...


class RateWindows(Protocol):
    async def take(self, key: str, limit: int, window: float) -> float:
        """Takes a call slot under "at most `limit` calls per `window` seconds" for `key`:
        0.0 when taken, else the seconds until one may free (nothing taken; ask again)."""
        ...


@dataclass(frozen=True)
class QuotaReading:
    usage: int
    total: int


class QuotaStore(Protocol):
    """Instagram publishing-quota readings per account, counted down by every replica's
    publishes."""

    async def reserve(self, account_id: str, fresh_since: datetime) -> QuotaReading | None:
        """Counts one publish against a reading taken after `fresh_since` with room left
        (usage + 1 < total) and returns it; None when no such reading exists (read the
        platform and `record` it)."""
        ...

    async def record(self, account_id: str, reading: QuotaReading, read_at: datetime) -> None: ...

    async def latest(self, account_ids: Sequence[str]) -> dict[str, QuotaStatus]:
        """The last reading of each account that has one (with the publishes counted since)."""
        ...


class AccountHealthStore(Protocol):
    """What is known of each account's health besides its tokens (server/domain/health.py),
    and when each is checked next (shared by every replica)."""

    async def facts(self, account_ids: Sequence[str]) -> dict[str, HealthFacts]:
        """The facts of each account that has any."""
        ...

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` ACTIVE accounts whose check is due (never checked, or due at or
        before `now`), as (workspace id, account id), each marked due at `hold_until`, so no
        other replica takes it meanwhile; never checked first, then the longest overdue."""
        ...

    async def record_check(
        self, account_id: str, checked_at: datetime, next_check_at: datetime, creator: CreatorStatus | None
    ) -> None:
        """A check made: when, when the next is due, and what creator_info said (None keeps
        what was said before)."""
        ...

    async def record_failure(self, account_id: str, failure: PlatformFailureNote) -> None:
        """The last platform call for the account that failed."""
        ...

    async def note_condition(self, account_id: str, condition: Condition) -> bool:
        """Moves the account's marker of `condition.name` to `condition.marker` unless it is
        there already, and then appends `condition.event` (when the new marker is not None)
        to the event log, in one step: of replicas noting the same condition at once, one
        writes the event. True when the marker moved."""
        ...


# What a change feed passes instead of a publish id when it was interrupted (its connection
# lost, say): changes made meanwhile were not heard, so any publish may have changed.
ANYTHING_CHANGED = ""


class ChangeFeed(Protocol):
    def subscribe(self, listener: Callable[[str], None]) -> None:
        """Calls `listener(publish_id)` for changes to publishes committed by any replica
        (possibly this one too), `listener(account_id)` for an account event (an id no
        publish has), and `listener(ANYTHING_CHANGED)` once the feed is heard again after an
        interruption; a store of one process calls it for account events only (its publish
        log announces its own publish changes)."""
        ...


class Store(Protocol):
    """One database: its stores and its coordination, opened and closed together."""

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def publishes(self) -> PublishStore: ...

    @property
    def webhooks(self) -> WebhookStore: ...

    @property
    def event_ids(self) -> EventIds:
        """Event ids under this database's keys: every replica issues the same id for an event."""
        ...

    @property
    def locks(self) -> Locks: ...

    @property
    def rate_windows(self) -> RateWindows: ...

    @property
    def quotas(self) -> QuotaStore: ...

    @property
    def account_health(self) -> AccountHealthStore: ...

    @property
    def changes(self) -> ChangeFeed: ...

    @property
    def connections(self) -> ConnectionStore: ...

    async def ping(self) -> None:
        """Raises StoreUnavailable when the database cannot be reached."""
        ...

    async def close(self) -> None: ...


# --- platforms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SingleMediaPost:
    """A single image (a feed post) or a Reel, in Instagram's terms: its container is created
    with the caption and every option (the adapter builds the wire body)."""

    url: str  # image_url, or video_url for a Reel (the public form Instagram fetches)
    reel: bool  # media_type=REELS
    caption: str = ""
    alt_text: str = ""  # images only
    user_tags: tuple[UserTag, ...] = ()
    collaborators: tuple[str, ...] = ()
    location_id: str = ""
    cover_url: str = ""  # Reels only
    thumb_offset_ms: int | None = None  # Reels only
    share_to_feed: bool | None = None  # Reels only


class InstagramApi(Protocol):
    """The Instagram Graph API's content-publishing calls. Every failure is a PlatformFailure."""

    async def create_media_container(self, token: str, ig_user_id: str, post: SingleMediaPost) -> str:
        """The container of a single image or Reel (not a carousel item); returns its id. A
        Reel's container processes for a while before it is FINISHED."""
        ...

    async def create_image_container(
        self, token: str, ig_user_id: str, image_url: str, *, alt_text: str = "", user_tags: Sequence[UserTag] = ()
    ) -> str:
        """A carousel item container for one image, with its alt text and user tags; returns
        its id. Safe to repeat: an unused container is never seen and expires."""
        ...

    async def create_carousel_container(
        self, token: str, ig_user_id: str, children: Sequence[str], caption: str,
        *, collaborators: Sequence[str] = (), location_id: str = "",
    ) -> str:
        """The carousel container; caption, collaborators and location go here, never on
        its items (Graph refuses them there)."""
        ...

    async def container_statuses(self, token: str, container_ids: Sequence[str]) -> dict[str, ContainerStatus]: ...

    async def publish(self, token: str, ig_user_id: str, creation_id: str) -> str:
        """media_publish: makes the post public; returns the IG media id."""
        ...

    async def media(self, token: str, media_id: str) -> IgMedia: ...

    async def recent_media(self, token: str, ig_user_id: str, limit: int = 25) -> list[IgMedia]: ...

    async def comment(self, token: str, media_id: str, message: str) -> str:
        """POST /{ig-media-id}/comments: posts a comment; returns its id. Not safe to repeat."""
        ...

    async def comments(self, token: str, media_id: str) -> list[IgComment]:
        """GET /{ig-media-id}/comments: the media's comments (to find one whose answer was lost)."""
        ...

    async def refresh_long_lived_token(self, token: str) -> tuple[str, int]:
        """A fresh long-lived token; returns (token, expires_in seconds)."""
        ...

    async def publishing_limit(self, token: str, ig_user_id: str) -> PublishingLimit: ...


class TikTokApi(Protocol):
    """TikTok's Content Posting API for photo posts. Every failure is a PlatformFailure."""

    async def creator_info(self, token: str) -> CreatorInfo: ...

    async def init_photo_post(self, token: str, post: PhotoPost) -> str:
        """Starts the post; returns TikTok's publish_id. TikTok offers no lookup by content,
        so an init whose answer was lost cannot be checked."""
        ...

    async def fetch_status(self, token: str, publish_id: str) -> PublishStatus: ...

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """The refresh grant. The returned refresh token replaces the old one (rotation)."""
        ...

    async def init_video_post(self, token: str, post: VideoPost) -> VideoInit:
        """Starts a video post (direct or inbox, pulled or uploaded); returns its publish_id
        and, for FILE_UPLOAD, the upload_url. As for photos, a lost answer cannot be checked."""
        ...

    async def upload_chunk(
        self, upload_url: str, first: int, last: int, total: int, content_type: str, body: AsyncIterable[bytes]
    ) -> None:
        """PUTs bytes `first`..`last` (inclusive) of `total` to the upload URL, streaming
        `body` (never holding it); returns once TikTok acknowledged them (206, or 201 for the
        last). A refusal is a PlatformFailure (expired URL, wrong range, bad headers)."""
        ...


class MediaBytes(Protocol):
    """Reads a media file's bytes from its host through the egress guard, a byte range at a
    time, for an upload that must never hold the whole file."""

    async def size(self, url: str) -> int:
        """The file's size in bytes, as its host states it. Raises MediaUnavailable."""
        ...

    def read(self, url: str, first: int, last: int) -> AsyncIterator[bytes]:
        """Bytes `first`..`last` (inclusive), in pieces of bounded size, from one ranged
        request. Raises MediaUnavailable when the host refuses or answers short."""
        ...


class MediaUnavailable(Exception):
    """The media host gave no usable answer for a range (refused, unreachable, short)."""


# --- media bytes --------------------------------------------------------------------------


class AccountConnector(Protocol):
    """One platform's consent screen and code exchange (its OAuth 2.0 authorization code flow)."""

    @property
    def default_scopes(self) -> tuple[str, ...]:
        """What a connection asks for when the caller names no scopes: enough to publish."""
        ...

    @property
    def pkce(self) -> PkceMethod:
        """Whether (and how) the consent screen is sent a PKCE code_challenge."""
        ...

    @property
    def missing_setting(self) -> str:
        """The setting an operator must give before accounts can connect ("" when ready)."""
        ...

    def authorize_url(self, request: AuthorizationRequest) -> str:
        """The consent screen's URL for this app."""
        ...

    async def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> ConnectedIdentity:
        """Exchanges an authorization code for tokens (long-lived ones where the platform has
        them) and reads who consented. Raises ExchangeFailure."""
        ...


class MediaInspector(Protocol):
    """Finds out what a media URL's bytes are, reading no more than it needs (headers, a
    bounded prefix) within its own time and byte limits, and only from addresses it may
    reach. Never raises for the URL's sake: every failure is an Inspection outcome."""

    async def inspect(self, url: str) -> Inspection:
        """What the bytes at `url` (https, or gs:// read at its public https form) are;
        `inspected_at` is left for the caller to set."""
        ...


class EventIds(Protocol):
    """The event ids callers see: opaque per workspace, so no id tells how many events other
    workspaces had; each names one stream position (server/domain/events.py)."""

    def token(self, workspace_id: str, position: EventPosition) -> str: ...

    def parse(self, workspace_id: str, token: str) -> EventPosition | None:
        """The position a token of this workspace names (also an id in the form issued
        before ids were opaque); None for anything else (another workspace's id included)."""
        ...

    def well_formed(self, token: str) -> bool:
        """Whether `token` has the form of an event id, of whichever workspace."""
        ...


class WebhookSender(Protocol):
    """POSTs a signed delivery to a receiver, through the egress guard, within its own time
    limit. Never raises for the receiver's sake: every failure is an Attempt."""

    def url_refusal(self, url: str) -> str | None:
        """Why a webhook may not have this URL (scheme, credentials, a refused address or
        local name), or None. Names resolve only when sending: a name resolving to a refused
        address fails its attempts instead."""
        ...

    async def post(self, url: str, headers: dict[str, str], body: str) -> Attempt: ...


# --- the rest -----------------------------------------------------------------------------


class Metrics(Protocol):
    """What the use cases report (the adapters report their own calls themselves)."""

    def publish_finished(self, platform: Platform, state: PublishState) -> None: ...

    def platform_retry(self, platform: str, endpoint: str) -> None: ...

    def track_in_flight(self, count: Callable[[], int]) -> None: ...

    def schedule_started(self, platform: Platform, lateness_seconds: float) -> None:
        """A scheduled publish was claimed at its time (started, or ended MISSED), this late."""
        ...


    def publish_taken_over(self, platform: Platform) -> None:
        """A replica took over a publish whose run's lease had lapsed (its replica died or stalled)."""
        ...


# What a span attribute may hold: a plain value, never a token, secret, caption or URL with
# credentials (docs/tracing.md lists what is recorded).
SpanValue = str | int | float | bool


class Span(Protocol):
    """One span of a trace, as the use cases see it."""

    def set(self, key: str, value: SpanValue) -> None: ...

    def event(self, name: str, attributes: Mapping[str, SpanValue] | None = None) -> None: ...

    def failed(self, description: str) -> None:
        """Marks the span's outcome an error (a step that ended the publish, say)."""
        ...


class Tracer(Protocol):
    """Spans around the use cases' work (OpenTelemetry when configured, else nothing).
    Spans nest by the current context: one started inside another is its child."""

    # Whether spans are recorded at all: a read made only to annotate a span (the link of a
    # webhook attempt to its publish's request) is skipped when they are not.
    enabled: bool

    def span(
        self, name: str, attributes: Mapping[str, SpanValue] | None = None, links: Sequence[str] = ()
    ) -> AbstractContextManager[Span]:
        """A span, current while the block runs. `links` are W3C traceparent values of the
        spans this work continues (the request that created a publish run later)."""
        ...

    def traceparent(self) -> str | None:
        """The current span's W3C traceparent (to continue it later), or None outside a
        recorded trace."""
        ...

    def trace_id(self) -> str:
        """The current trace's id (32 hex digits), or "" outside a recorded trace."""
        ...


class _NoSpan:
    def set(self, key: str, value: SpanValue) -> None:
        pass

    def event(self, name: str, attributes: Mapping[str, SpanValue] | None = None) -> None:
        pass

    def failed(self, description: str) -> None:
        pass


# One block for every span: nullcontext is reentrant and holds no state.
_NO_SPAN_BLOCK: AbstractContextManager[Span] = nullcontext(_NoSpan())


class NoTracer:
    """The Tracer when tracing is off: no span, no id, next to no cost."""

    enabled = False

    def span(
        self, name: str, attributes: Mapping[str, SpanValue] | None = None, links: Sequence[str] = ()
    ) -> AbstractContextManager[Span]:
        return _NO_SPAN_BLOCK

    def traceparent(self) -> str | None:
        return None

    def trace_id(self) -> str:
        return ""


NO_TRACER: Tracer = NoTracer()


class TextSegmenter(Protocol):
    """Splits text into what a reader sees as one character each, so that a rule cutting text
    (a title cut to fit a platform's limit) never cuts inside one."""

    def graphemes(self, text: str) -> list[str]:
        """`text` as its extended grapheme clusters (Unicode UAX #29), in order: joined back
        they are `text`. A cluster is never split: an emoji joined by zero-width joiners, a
        flag (two regional indicators), an emoji with its skin tone, a letter with its
        combining accents each stay one. Empty text gives an empty list."""
        ...


class Clock(Protocol):
    """Time, so that the use cases' waits and deadlines can be run on a fake clock."""

    def now(self) -> datetime:
        """Wall-clock time, in UTC."""
        ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...
