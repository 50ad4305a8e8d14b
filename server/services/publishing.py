"""Carousel publishing: check everything that can be checked, record the publish, run it.

One template for every platform (`Publisher.publish`), with what differs in a small
policy per platform. Checks happen in this order, each before any platform call that
could post: request shape (INVALID_ARGUMENT, every violation at once), the account
(NOT_FOUND, wrong platform, not connected), the media (NOT_FOUND; inspected again when
their inspection is older than the maximum age; then every item against the platform's
media rules, every problem of every item at once), then the platform's own preconditions
(Instagram's publishing quota; for TikTok direct posts the creator's allowed privacy
levels). Only then is a record written (PENDING) and handed to the runner.

`Publisher.validate` (AIP-163 validate_only) runs the same checks and returns what would be
published, writing no publish record and making no platform write call: its platform calls
are reads (Instagram's content_publishing_limit, TikTok's creator_info), and it never
refreshes a token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from server.domain.changes import PublishChange
from server.domain.commands import (
    OPTION_DEFAULTS,
    CarouselRequest,
    InstagramCarousel,
    InstagramMedia,
    TikTokCarousel,
    TikTokVideo,
)
from server.domain.ending import ending
from server.domain.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    IllegalTransition,
    NotFound,
    invalid,
)
from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.media import public_form
from server.domain.media_rules import instagram_problems, media_error, tiktok_problems
from server.domain.models import (
    Account,
    AccountState,
    FirstComment,
    FirstCommentState,
    Media,
    MediaKind,
    Platform,
    Publish,
    PublishEvent,
    PublishKind,
    PublishState,
)
from server.domain.options import InstagramOptions, PostOptions, TikTokOptions
from server.domain.platforms import CreatorInfo, PlatformFailure
from server.domain.ports import AccountStore, Clock, MediaStore, PublishRecords, TextSegmenter, TikTokApi
from server.domain.post_options import (
    COMMENTS_OFF_BY_CREATOR,
    instagram_media_kind_violations,
    instagram_media_option_violations,
    instagram_media_options,
    instagram_option_violations,
    instagram_options,
    normal_instagram,
    normal_instagram_media,
    tiktok_option_violations,
    tiktok_options,
)
from server.domain.schedule import SchedulePolicy, is_later, publish_time_violation, scheduled_events
from server.domain.tiktok_text import tiktok_text, tiktok_text_violations
from server.domain.validation import (
    canonical_id,
    check_id,
    id_violation,
    instagram_caption_violations,
    media_ids_violations,
)
from server.domain.video_rules import cover_problems, reel_problems
from server.services.history import found_publish
from server.services.media import MediaLibrary
from server.services.quota import InstagramQuota
from server.services.tokens import AccountTokens
from server.services.workflow.publish_log import PublishLog
from server.services.workflow.retry import Retrier
from server.services.workflow.runner import PublishRunner, Ready

# The duplicate guard's window (without request_id).
DUPLICATE_WINDOW = timedelta(hours=24)

_STATE_TEXT = {
    AccountState.NEEDS_RECONNECT: "needs a reconnect: the platform rejected its token",
    AccountState.DISCONNECTED: "is disconnected",
}


def _options_set(request: CarouselRequest) -> dict[str, object]:
    """The post options beyond the spec's fields that this request sets (not at their defaults)."""
    defaults = OPTION_DEFAULTS[type(request)]
    fields = asdict(request)
    return {name: fields[name] for name, default in defaults.items() if fields[name] not in (default, None)}


def fingerprint(request: CarouselRequest) -> str:
    """Identifies what was asked, so a request_id reused for something else is caught (a
    different publish_time included). Post options count; those left at their defaults are left
    out, so a request recorded before they existed keeps its fingerprint."""
    unset = set(OPTION_DEFAULTS[type(request)]) - set(_options_set(request))
    body = {k: v for k, v in asdict(request).items() if k not in ("request_id", "allow_duplicate", *unset)}
    # Only when set: the fingerprints of requests recorded before scheduling existed stay the same.
    publish_time = body.pop("publish_time", None)
    if publish_time is not None:
        body["publish_time"] = publish_time.astimezone(UTC).isoformat()
    body["type"] = type(request).__name__
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def content_fingerprint(platform: Platform, request: CarouselRequest) -> str:
    """Identifies what would appear on the account: the same media in the same order and
    caption, and the post options that show on the post (alt text, tags, collaborators,
    location, first comment, disclosure). Without options the key is what it was before they
    existed, so earlier publishes still count for the duplicate guard."""
    body: list[object] = [platform.value, request.account_id, list(request.media_ids), request.caption]
    shown = {k: v for k, v in _options_set(request).items() if k != "creator_consent_obtained"}
    if shown:
        body.append(shown)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _canonical(request: CarouselRequest) -> CarouselRequest:
    """The request with every id in the form this service stores (any letter case accepted),
    and its options in their normal form (usernames without "@")."""
    if isinstance(request, InstagramMedia):
        return dataclasses.replace(
            normal_instagram_media(request),
            media_id=canonical_id(request.media_id),
            account_id=canonical_id(request.account_id),
            request_id=canonical_id(request.request_id),
        )
    if isinstance(request, InstagramCarousel):
        request = normal_instagram(request)
    return dataclasses.replace(
        request,
        media_ids=[canonical_id(m) for m in request.media_ids],
        account_id=canonical_id(request.account_id),
        request_id=canonical_id(request.request_id),
    )


class PlatformPolicy(Protocol):
    """What differs between platforms in the publishing template."""

    platform: Platform
    account_field: str  # the request field naming the account, e.g. "instagram_account_id"

    def request_violations(self, req: CarouselRequest) -> list[FieldViolation]:
        """The platform's request-shape rules (counts, caption and option limits)."""
        ...

    def check_media(self, media: list[Media], req: CarouselRequest) -> None:
        """Refuses media the platform does not take for this request, naming every
        offending item (and every option that does not fit the media)."""
        ...

    def kind(self, media: Sequence[Media]) -> PublishKind:
        """What the publish is: a carousel, or for a single media its kind's post."""
        ...

    def options(self, req: CarouselRequest) -> PostOptions:
        """The platform options saved on the record (the workflow reads them)."""
        ...

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        """The platform's own preconditions, checked with the account's token. With
        `validate_only`, by platform reads only, and nothing is counted or written. Returns
        `options` with what the checks learnt that the record keeps (audit evidence)."""
        ...

    async def before_scheduling(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        """The preconditions a publish for later can be checked against now (platform reads
        only: nothing is counted against a quota that will have moved on by then). Returns,
        like before_recording, the options the record keeps."""
        ...

    async def before_run(self, account: Account, token: str, publish: Publish) -> OptionsChange | None:
        """A scheduled publish at its time: the preconditions checked again (they may have
        gone stale), and what is counted at the start of a run counted now. Returns the
        change its options need to be sent as the platform now requires, if any."""
        ...


@dataclass(frozen=True)
class OptionsChange:
    """Post options a scheduled publish's record takes at its time, why (its timeline), and
    the options changed (the timeline event's details)."""

    options: PostOptions
    why: str
    changed: dict[str, object]


@dataclass(frozen=True)
class Preview:
    """What a publish would be (validate_only): the record it would write, never written,
    and its media in carousel order, as inspected."""

    publish: Publish
    media: list[Media]


class Publisher:
    def __init__(
        self,
        accounts: AccountStore,
        media: MediaStore,
        records: PublishRecords,
        publish_log: PublishLog,
        runner: PublishRunner,
        tokens: AccountTokens,
        policies: dict[type, PlatformPolicy],
        clock: Clock,
        library: MediaLibrary | None = None,
        schedule: SchedulePolicy = SchedulePolicy(),
    ) -> None:
        self._accounts = accounts
        self._media = media
        self._records = records
        self._log = publish_log
        self._runner = runner
        self._tokens = tokens
        self._policies = policies
        self._clock = clock
        # Inspects media again before a publish when their inspection is too old.
        self._library = library
        self.schedule = schedule

    async def publish(self, workspace_id: str, req: CarouselRequest, wait_at_most: float | None = None) -> Publish:
        """Publishes the carousel and returns its record once it is live (or in the inbox);
        a publish that failed or could not be confirmed raises its recorded error. With
        `wait_at_most` (seconds), a publish still running by then is returned as it stands
        (PROCESSING): it runs on, and its record tells the end."""
        policy = self._policies[type(req)]
        req = _canonical(req)
        now = self._clock.now()
        try:
            _check_shape(policy, req, now, self.schedule)
        except DomainError:
            # A retry of a scheduling call made after its time (now in the past) still gets
            # the first call's outcome (AIP-155): only a request recorded before can match.
            replayable = req.publish_time and req.request_id
            existing = await self._replay(workspace_id, req, wait_at_most) if replayable else None
            if existing is not None:
                return existing
            raise
        existing = await self._replay(workspace_id, req, wait_at_most)
        if existing is not None:
            return existing
        account, media = await self._account_and_media(workspace_id, req, policy)
        publish = self._new_publish(workspace_id, policy, req, media)
        guarded = not publish.request_id and not req.allow_duplicate
        # The duplicate guard is read here, before any platform call, and checked again in
        # the write itself, where it is atomic (two replicas, or two calls at once).
        earlier, token = await asyncio.gather(
            self._recent_same_content(publish) if guarded else _nothing(),
            self._tokens.access_token(account),
        )
        if earlier is not None:
            raise _duplicate(earlier)
        if is_later(req.publish_time, now, self.schedule):
            publish.options = await policy.before_scheduling(account, token, req, publish.options, media=media)
            return await self._record_scheduled(publish, req.publish_time, guarded)
        publish.options = await policy.before_recording(account, token, req, publish.options, media=media)
        # The run starts with the token as stored now: a check above may have replaced a
        # rejected one (refreshed it), and the old one would only be rejected again.
        token = await self._tokens.stored_token(account)
        return await self._record_and_run(publish, Ready(account, media, token), guarded, wait_at_most)

    async def validate(self, workspace_id: str, req: CarouselRequest) -> Preview:
        """validate_only (AIP-163): every check `publish` makes, in the same order and with
        the same errors, then what would be published. Writes no publish record and makes
        no platform write call. The platform reads it may make: Instagram's
        content_publishing_limit, TikTok's creator_info (direct posts); media inspected
        again when too old (their new inspection is saved on the media). The access token
        is used as stored: it is not refreshed, so a token past its expiry fails here where
        a publish would refresh it first. A request_id already used for a different request
        is ALREADY_EXISTS; nothing is recorded under it."""
        policy = self._policies[type(req)]
        req = _canonical(req)
        now = self._clock.now()
        _check_shape(policy, req, now, self.schedule)
        if req.request_id:
            existing = await self._records.find_by_request_id(workspace_id, req.request_id)
            if existing is not None:
                _same_request(existing, fingerprint(req), req.request_id)
        account, media = await self._account_and_media(workspace_id, req, policy)
        publish = self._new_publish(workspace_id, policy, req, media)
        guarded = not publish.request_id and not req.allow_duplicate
        earlier, token = await asyncio.gather(
            self._recent_same_content(publish) if guarded else _nothing(),
            self._tokens.stored_token(account),
        )
        if earlier is not None:
            raise _duplicate(earlier)
        if is_later(req.publish_time, now, self.schedule):
            publish.options = await policy.before_scheduling(
                account, token, req, publish.options, validate_only=True, media=media
            )
        else:
            publish.options = await policy.before_recording(
                account, token, req, publish.options, validate_only=True, media=media
            )
        return Preview(publish, media)

    async def _account_and_media(
        self, workspace_id: str, req: CarouselRequest, policy: PlatformPolicy
    ) -> tuple[Account, list[Media]]:
        # Both are reads; asked together they cost the store one round trip. An account
        # error is reported first.
        account, media = await asyncio.gather(
            self._account(workspace_id, req.account_id, policy),
            self._media_in_order(workspace_id, req.media_ids, single=isinstance(req, InstagramMedia | TikTokVideo)),
            return_exceptions=True,
        )
        if isinstance(account, BaseException):
            raise account
        if isinstance(media, BaseException):
            raise media
        if self._library is not None:
            media = await self._library.refreshed(media)
        policy.check_media(media, req)
        return account, media

    async def _recent_same_content(self, publish: Publish) -> Publish | None:
        return await self._records.recent_same_content(
            publish.workspace_id, publish.account_id, publish.content_fingerprint,
            publish.created_at - DUPLICATE_WINDOW,
        )

    async def _account(self, workspace_id: str, account_id: str, policy: PlatformPolicy) -> Account:
        account = await self._accounts.get(workspace_id, account_id)
        if account is None:
            raise NotFound(
                reason="ACCOUNT_NOT_FOUND",
                message=f"No account {account_id} in this workspace for {policy.account_field}; "
                "check the id (ListAccounts lists them)",
                metadata={"account_id": account_id, "field": policy.account_field},
            )
        if account.platform != policy.platform:
            raise invalid(
                [FieldViolation(
                    policy.account_field,
                    f"names {_a(account.platform.label)} account ({account_id}); give {_a(policy.platform.label)} "
                    f"account, or publish to this one with Publish{account.platform.label}Carousel",
                )],
                reason="ACCOUNT_PLATFORM_MISMATCH",
            )
        if account.state != AccountState.ACTIVE:
            raise FailedPrecondition(
                reason="ACCOUNT_NOT_CONNECTED",
                message=f"Account {account_id} {_STATE_TEXT[account.state]}; reconnect it with ConnectAccount",
                metadata={"account_id": account_id, "account_state": account.state.value},
            )
        return account

    async def _media_in_order(self, workspace_id: str, media_ids: list[str], *, single: bool = False) -> list[Media]:
        found = await self._media.get_many(workspace_id, media_ids)
        missing = [i for i, mid in enumerate(media_ids) if mid not in found]
        if missing and single:
            raise NotFound(
                reason="MEDIA_NOT_FOUND",
                message=f"No media in this workspace for media_id ({media_ids[0]}); check the id "
                "(ListMedia lists them)",
                metadata={"field": "media_id"},
            )
        if missing:
            names = ", ".join(f"media_ids[{i}] ({media_ids[i]})" for i in missing)
            raise NotFound(
                reason="MEDIA_NOT_FOUND",
                message=f"No media in this workspace for {names}; check the ids (ListMedia lists them)",
                metadata={"field": ",".join(f"media_ids[{i}]" for i in missing)},
            )
        return [found[mid] for mid in media_ids]

    def _new_publish(
        self, workspace_id: str, policy: PlatformPolicy, req: CarouselRequest, media: Sequence[Media] = ()
    ) -> Publish:
        now = self._clock.now()
        kind = policy.kind(media)
        return Publish(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            platform=policy.platform,
            kind=kind,
            account_id=req.account_id,
            media_ids=list(req.media_ids),
            caption=req.caption,
            options=policy.options(req),
            state=PublishState.PENDING,
            request_id=req.request_id or None,
            request_fingerprint=fingerprint(req),
            content_fingerprint=content_fingerprint(policy.platform, req),
            created_at=now,
            updated_at=now,
            child_container_ids=[None] * len(req.media_ids)
            if policy.platform == Platform.INSTAGRAM and kind == PublishKind.CAROUSEL else [],
            # Its own state from the start, so the record shows a first comment is to come.
            first_comment=FirstComment(FirstCommentState.PENDING)
            if isinstance(req, InstagramCarousel | InstagramMedia) and req.first_comment else None,
        )

    async def _replay(self, workspace_id: str, req: CarouselRequest, wait_at_most: float | None) -> Publish | None:
        """AIP-155: a request_id seen before returns that publish's outcome (waiting if in flight)."""
        if not req.request_id:
            return None
        existing = await self._records.find_by_request_id(workspace_id, req.request_id)
        if existing is None:
            return None
        _same_request(existing, fingerprint(req), req.request_id)
        return await self._outcome(existing, wait_at_most=wait_at_most)

    async def _record_and_run(
        self, publish: Publish, ready: Ready, guarded: bool, wait_at_most: float | None
    ) -> Publish:
        """Writes the record (leased to this replica, already PROCESSING, with its first two
        events: the run starts at once) and runs it. Without a request_id, the same content
        to the same account within 24 hours is most likely a client retry: refused unless
        the caller says it is meant (`guarded`; checked in the same atomic step as the write)."""
        created_event = PublishEvent(
            type="CREATED", state=PublishState.PENDING, message=f"{publish.description} recorded"
        )
        started_event = PublishEvent(
            type="PROCESSING_STARTED", state=PublishState.PROCESSING,
            message=self._runner.started_message(publish.platform),
        )
        publish.state = PublishState.PROCESSING
        publish.owner = self._runner.owner
        publish.lease_until = publish.created_at + self._runner.lease_until()
        conflict = await self._log.create(
            publish, [created_event, started_event],
            duplicate_since=publish.created_at - DUPLICATE_WINDOW if guarded else None,
        )
        if conflict is None:
            return await self._outcome(publish, ready, wait_at_most)
        existing = conflict.existing
        if conflict.reason == "duplicate":
            raise _duplicate(existing)
        # Another call with the same request_id won the race: attach to its publish.
        _same_request(existing, publish.request_fingerprint, publish.request_id or "")
        return await self._outcome(existing, wait_at_most=wait_at_most)

    async def _record_scheduled(self, publish: Publish, at: datetime | None, guarded: bool) -> Publish:
        """Writes the record as SCHEDULED (no owner: whichever replica finds it due runs it)
        and returns it at once; the same guards as an immediate publish, in the same write."""
        assert at is not None
        publish.state = PublishState.SCHEDULED
        publish.schedule_time = at.astimezone(UTC)
        conflict = await self._log.create(
            publish, scheduled_events(publish),
            duplicate_since=publish.created_at - DUPLICATE_WINDOW if guarded else None,
        )
        if conflict is None:
            return publish
        if conflict.reason == "duplicate":
            raise _duplicate(conflict.existing)
        _same_request(conflict.existing, publish.request_fingerprint, publish.request_id or "")
        return await self._outcome(conflict.existing)

    async def _outcome(
        self, publish: Publish, ready: Ready | None = None, wait_at_most: float | None = None
    ) -> Publish:
        if publish.state in (PublishState.SCHEDULED, PublishState.CANCELLED):
            return publish  # a retry of a scheduling call answers as the first one did
        final = publish if publish.done else await self._wait(publish, ready, wait_at_most)
        if final.state in _ENDED_WITH_ERROR and final.error is not None:
            raise final.error.as_exception(final.id)
        return final

    async def _wait(self, publish: Publish, ready: Ready | None, wait_at_most: float | None) -> Publish:
        """The record once done, or as it stands after `wait_at_most` seconds: giving up the
        wait never stops the run (the runner shields it)."""
        if wait_at_most is None:
            return await self._runner.wait(publish, ready)
        try:
            return await asyncio.wait_for(self._runner.wait(publish, ready), max(wait_at_most, 0.0))
        except TimeoutError:
            current = await self._records.get(publish.id)
            return current if current is not None else publish

    # --- schedules ------------------------------------------------------------------------

    async def cancel(self, workspace_id: str, publish_id: str) -> Publish:
        """SCHEDULED becomes CANCELLED (terminal, nothing posted); a CANCELLED publish is
        returned as it is; any other state is FAILED_PRECONDITION. The change is made only
        from SCHEDULED, in the write itself: against the due claim, exactly one wins."""
        publish = await self._scheduled(workspace_id, publish_id)
        if publish.state == PublishState.SCHEDULED:
            try:
                return await self._log.record(
                    publish.id, "CANCELLED", "Cancelled before its scheduled time; nothing was posted",
                    ending(publish, PublishState.CANCELLED),
                )
            except IllegalTransition:
                publish = await self._scheduled(workspace_id, publish_id)  # the due claim won
        if publish.state == PublishState.CANCELLED:
            return publish
        raise _not_scheduled(publish, "cancelled")

    async def reschedule(self, workspace_id: str, publish_id: str, publish_time: datetime | None) -> Publish:
        """Moves a SCHEDULED publish to `publish_time` (the same rules as a new schedule);
        the same time again changes nothing. Made only while it is still SCHEDULED."""
        publish_id = canonical_id(publish_id)
        violations = [
            *_present(id_violation("id", publish_id, "a publish id")),
            *_present(publish_time_violation(publish_time, self._clock.now(), self.schedule, required=True)),
        ]
        if violations:
            raise invalid(violations)
        assert publish_time is not None
        at = publish_time.astimezone(UTC)
        publish = await self._scheduled(workspace_id, publish_id)
        if publish.state != PublishState.SCHEDULED:
            raise _not_scheduled(publish, "rescheduled")
        if publish.schedule_time == at:
            return publish
        event = PublishEvent(
            type="RESCHEDULED", state=PublishState.SCHEDULED,
            message=f"Moved from {_stamp(publish.schedule_time)} to {_stamp(at)}",
            details={"from": publish.schedule_time.isoformat() if publish.schedule_time else None,
                     "schedule_time": at.isoformat()},
        )
        moved = await self._log.reschedule(publish.id, at, event)
        if moved is None:
            raise _not_scheduled(await self._scheduled(workspace_id, publish_id), "rescheduled")
        return moved

    async def _scheduled(self, workspace_id: str, publish_id: str) -> Publish:
        publish_id = check_id("id", publish_id, "a publish id")
        return found_publish(publish_id, await self._records.get_in_workspace(workspace_id, publish_id))


class ScheduledRecheck:
    """At a scheduled publish's time, before its first platform call: what may have gone
    stale since it was scheduled (the account, the platform's preconditions). Given to the
    runner, which calls it for a scheduled publish's run. A change of what must be sent is
    written through the publish log with its reason."""

    def __init__(self, policies: dict[type, PlatformPolicy], publish_log: PublishLog) -> None:
        self._policies = policies
        self._log = publish_log

    async def __call__(self, publish: Publish, account: Account, token: str) -> Publish:
        """The record to run; a failure raises the DomainError the run ends with."""
        if account.state != AccountState.ACTIVE:
            raise FailedPrecondition(
                reason="ACCOUNT_NOT_CONNECTED",
                message=f"At the scheduled time, account {account.id} {_STATE_TEXT[account.state]}; "
                "nothing was posted. Reconnect it with ConnectAccount and publish again",
                metadata={"account_id": account.id, "account_state": account.state.value},
            )
        policy = next(p for p in self._policies.values() if p.platform == publish.platform)
        change = await policy.before_run(account, token, publish)
        if change is None:
            return publish
        return await self._log.record(
            publish.id, "OPTIONS_CHANGED", change.why, PublishChange(options=change.options),
            details=change.changed, expected=publish,
        )


_ENDED_WITH_ERROR = (PublishState.FAILED, PublishState.UNCONFIRMED, PublishState.MISSED)


def _stamp(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "(unset)"


def _not_scheduled(publish: Publish, verb: str) -> DomainError:
    started = "has started" if not publish.state.terminal else "has ended"
    return FailedPrecondition(
        reason="PUBLISH_NOT_SCHEDULED",
        message=f"Publish {publish.id} is {publish.state.value} and {started}: only a SCHEDULED publish can be "
        f"{verb}",
        metadata={"publish_id": publish.id, "state": publish.state.value},
    )


def _same_request(existing: Publish, request_fingerprint: str | None, request_id: str) -> None:
    if existing.request_fingerprint != request_fingerprint:
        raise AlreadyExists(
            reason="REQUEST_ID_REUSED",
            message=f"request_id {request_id} was already used for a different request "
            f"(publish {existing.id}); use a new request_id for a new publish",
            metadata={"publish_id": existing.id, "request_id": request_id},
        )


def _check_shape(policy: PlatformPolicy, req: CarouselRequest, now: datetime, schedule: SchedulePolicy) -> None:
    violations = [
        *policy.request_violations(req),
        *_present(publish_time_violation(req.publish_time, now, schedule)),
        *_present(id_violation(policy.account_field, req.account_id, "an account id")),
        *_present(id_violation("request_id", req.request_id, "an idempotency key you choose", required=False)),
    ]
    if violations:
        raise invalid(violations)


def _duplicate(earlier: Publish) -> AlreadyExists:
    return AlreadyExists(
        reason="DUPLICATE_PUBLISH",
        message=f"The same media and caption were published to this account at "
        f"{earlier.created_at.isoformat(timespec='seconds')} (publish {earlier.id}, "
        f"{earlier.state.value}); set allow_duplicate to publish them again, or send a "
        "request_id to make retries safe",
        metadata={"publish_id": earlier.id, "earlier_state": earlier.state.value},
    )


async def _nothing() -> None:
    return None


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an Instagram", "a TikTok", "a video"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _present(violation: FieldViolation | None) -> list[FieldViolation]:
    return [violation] if violation is not None else []


# --- the platforms' policies ----------------------------------------------------------------


class InstagramPolicy:
    platform = Platform.INSTAGRAM
    account_field = "instagram_account_id"

    def __init__(self, quota: InstagramQuota) -> None:
        self._quota = quota

    def request_violations(self, req: CarouselRequest) -> list[FieldViolation]:
        return [
            *media_ids_violations(req.media_ids, INSTAGRAM.min_items, INSTAGRAM.max_items, "Instagram"),
            *instagram_caption_violations(req.caption),
            *(instagram_option_violations(req) if isinstance(req, InstagramCarousel) else []),
        ]

    def check_media(self, media: list[Media], req: CarouselRequest) -> None:
        problems = instagram_problems(media)
        if problems:
            raise media_error(problems)

    def kind(self, media: Sequence[Media]) -> PublishKind:
        return PublishKind.CAROUSEL

    def options(self, req: CarouselRequest) -> PostOptions:
        assert isinstance(req, InstagramCarousel)
        return instagram_options(req)

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        if validate_only:
            await self._quota.check(account.external_account_id, token)
            return options
        await self._quota.reserve(account.id, account.external_account_id, token)
        return options

    async def before_scheduling(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        """Nothing: the 24-hour publishing quota is about the time of posting, so it is
        reserved then (before_run), not now."""
        return options

    async def before_run(self, account: Account, token: str, publish: Publish) -> OptionsChange | None:
        await self._quota.reserve(account.id, account.external_account_id, token)
        return None


class InstagramMediaPolicy(InstagramPolicy):
    """One image published as a feed post, or one video as a Reel, by the media's kind:
    Instagram's image rules or its Reel specs (video_rules.py), and the options that fit
    that kind. The quota, as for a carousel: a Reel is one post of the 24-hour limit. A
    Reel's cover_url is inspected too (`library`; not when media fetch is off)."""

    def __init__(self, quota: InstagramQuota, library: MediaLibrary | None = None) -> None:
        super().__init__(quota)
        self._library = library

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        await self._check_cover(options)
        return await super().before_recording(account, token, req, options, validate_only=validate_only, media=media)

    async def before_scheduling(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        await self._check_cover(options)
        return await super().before_scheduling(account, token, req, options, validate_only=validate_only, media=media)

    async def _check_cover(self, options: PostOptions) -> None:
        """The cover image Instagram will fetch: a JPEG of at most 8 MB that can be fetched."""
        assert isinstance(options, InstagramOptions)
        if not options.cover_url or self._library is None:
            return
        cover = await self._library.inspect_url(options.cover_url)
        problems = cover_problems(cover) if cover is not None else []
        if problems:
            raise media_error(problems)

    def request_violations(self, req: CarouselRequest) -> list[FieldViolation]:
        assert isinstance(req, InstagramMedia)
        return [
            *_present(id_violation("media_id", req.media_id, "a media id")),
            *instagram_caption_violations(req.caption),
            *instagram_media_option_violations(req),
        ]

    def check_media(self, media: list[Media], req: CarouselRequest) -> None:
        assert isinstance(req, InstagramMedia)
        [item] = media
        if item.kind == MediaKind.VIDEO:
            problems = reel_problems(item)
        else:
            problems = [dataclasses.replace(p, name="media_id") for p in instagram_problems([item])]
        options = instagram_media_kind_violations(req, item.kind)
        if problems and options:
            raise invalid([*media_error(problems).field_violations, *options], reason="MEDIA_NOT_ALLOWED")
        if problems:
            raise media_error(problems)
        if options:
            raise invalid(options)

    def kind(self, media: Sequence[Media]) -> PublishKind:
        return PublishKind.REEL if media[0].kind == MediaKind.VIDEO else PublishKind.IMAGE

    def options(self, req: CarouselRequest) -> PostOptions:
        assert isinstance(req, InstagramMedia)
        return instagram_media_options(req, public_form(req.cover_url) if req.cover_url else "")


class TikTokPolicy:
    """TikTok's rules. Three operator's opt-ins, off by default because the spec takes the
    requests they refuse: `require_creator_consent` refuses a direct post whose caller does
    not declare creator_consent_obtained (whatever the setting, what was declared is kept as
    evidence); `require_caption_fits_title` refuses a caption longer than TikTok's title
    instead of sending it whole as the description (tiktok_text.py);
    `require_disable_comment` refuses a direct post that leaves comments on when the creator
    turned them off, instead of sending disable_comment true (`_comments_off`). `segmenter`
    finds where a caption too long for the title may be cut."""

    platform = Platform.TIKTOK
    account_field = "tiktok_account_id"

    def __init__(
        self,
        tiktok: TikTokApi,
        accounts: AccountStore,
        tokens: AccountTokens,
        retrier: Retrier,
        segmenter: TextSegmenter,
        *,
        require_creator_consent: bool = False,
        require_caption_fits_title: bool = False,
        require_disable_comment: bool = False,
    ) -> None:
        self._tiktok = tiktok
        self._accounts = accounts
        # A token rejected at creator_info is replaced once (refreshed) before the account is marked.
        self._tokens = tokens
        self._retrier = retrier
        self._segmenter = segmenter
        self._require_creator_consent = require_creator_consent
        self._require_caption_fits_title = require_caption_fits_title
        self._require_disable_comment = require_disable_comment

    def request_violations(self, req: CarouselRequest) -> list[FieldViolation]:
        assert isinstance(req, TikTokCarousel)
        violations = [
            *media_ids_violations(req.media_ids, TIKTOK.min_items, TIKTOK.max_items, "TikTok"),
            *tiktok_text_violations(
                req.caption, req.description, caption_must_fit_title=self._require_caption_fits_title
            ),
            *tiktok_option_violations(req),
        ]
        if not 0 <= req.cover_index < max(len(req.media_ids), 1):
            violations.append(
                FieldViolation(
                    "cover_index",
                    f"must be the index of one of media_ids, 0 to {max(len(req.media_ids) - 1, 0)}; "
                    f"got {req.cover_index}",
                )
            )
        return violations

    def check_media(self, media: list[Media], req: CarouselRequest) -> None:
        problems = tiktok_problems(media)
        if problems:
            raise media_error(problems)

    def kind(self, media: Sequence[Media]) -> PublishKind:
        return PublishKind.CAROUSEL

    def options(self, req: CarouselRequest) -> PostOptions:
        assert isinstance(req, TikTokCarousel)
        options = tiktok_options(req)
        sent = tiktok_text(req.caption, req.description, self._segmenter)
        if sent.fitted:
            # What TikTok is sent instead of the caption and description as given, and why
            # (the workflow sends these; GetPublish shows them).
            options = dataclasses.replace(
                options, platform_title=sent.title, platform_description=sent.description, text_fitted=sent.fitted
            )
        return options

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        """For a direct post: the caller's consent statement when the operator requires it,
        then creator_info, refusing a privacy level the creator may not use, before init. (A
        read: validate_only asks it too, and previews the same options.) Returns the options
        with what the record keeps from it: the creator's nickname, and comments turned off
        where the creator turned them off (`_comments_off`)."""
        assert isinstance(req, TikTokCarousel | TikTokVideo) and isinstance(options, TikTokOptions)
        if not options.direct:
            return options
        if self._require_creator_consent and req.creator_consent_obtained is not True:
            raise FailedPrecondition(
                reason="TIKTOK_CONSENT_REQUIRED",
                message="creator_consent_obtained: this service requires it for direct posts "
                "(DISTRIBUTION_TIKTOK_REQUIRE_CREATOR_CONSENT). TikTok's content sharing guidelines ask the app "
                "that posts to show the creator a preview of the post, their TikTok nickname, the privacy and "
                "commercial content disclosure choices, and to post only after the creator's express consent. "
                "Set creator_consent_obtained once your app has done so (it is kept in the publish record as "
                "evidence), or use POST_MODE_INBOX to let the creator finish the post in TikTok's app",
                metadata={"field": "creator_consent_obtained"},
                field_violations=[FieldViolation("creator_consent_obtained", "must be true for a direct post")],
            )
        creator = await self._check_creator(account, token, req.privacy_level, validate_only=validate_only)
        options = dataclasses.replace(options, creator_nickname=creator.nickname)
        if self._comments_off(creator, requested=req.disable_comment):
            options = dataclasses.replace(options, disable_comment=True, comments_disabled_by_creator=True)
        return self._with_creator(creator, options, media)

    def _with_creator(self, creator: CreatorInfo, options: TikTokOptions, media: Sequence[Media]) -> TikTokOptions:
        """What a kind of post checks or keeps from creator_info beyond the privacy level and
        comments (a video: its length, Duet and Stitch); a photo post nothing."""
        return options

    async def before_scheduling(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        """creator_info now (a read), so a privacy level the creator may not use is refused at
        once rather than at the scheduled time. The nickname kept is the one seen now, when
        the caller declared the creator's consent."""
        return await self.before_recording(account, token, req, options, validate_only=validate_only, media=media)

    async def before_run(self, account: Account, token: str, publish: Publish) -> OptionsChange | None:
        """creator_info again: the creator may have changed what they allow since. Comments
        they turned off (or back on) since the publish was scheduled change what is sent."""
        options = publish.options
        assert isinstance(options, TikTokOptions)
        if not options.direct:
            return None
        creator = await self._check_creator(account, token, options.privacy_level or "", validate_only=False)
        by_creator = options.comments_disabled_by_creator
        requested = options.disable_comment and not by_creator
        off = self._comments_off(creator, requested=requested)
        if off == by_creator:
            return None
        if off:
            return OptionsChange(
                dataclasses.replace(options, disable_comment=True, comments_disabled_by_creator=True),
                f"Comments turned off: {COMMENTS_OFF_BY_CREATOR} since this publish was scheduled",
                {"disable_comment": True, "comments_disabled_by_creator": True},
            )
        return OptionsChange(
            dataclasses.replace(options, disable_comment=False, comments_disabled_by_creator=False),
            "Comments left on as requested: the creator turned comments back on for their account since this "
            "publish was scheduled",
            {"disable_comment": False, "comments_disabled_by_creator": False},
        )

    def _comments_off(self, creator: CreatorInfo, *, requested: bool) -> bool:
        """Whether the record turns comments off beyond the request's own disable_comment:
        not while the creator allows comments or the request turned them off itself. When the
        creator turned them off (creator_info comment_disabled), a post cannot allow them:
        disable_comment is sent true and the record says why, unless the operator asked for
        the refusal instead (FAILED_PRECONDITION naming disable_comment)."""
        if not creator.comment_disabled or requested:
            return False
        if self._require_disable_comment:
            raise FailedPrecondition(
                reason="TIKTOK_COMMENTS_DISABLED_BY_CREATOR",
                message="disable_comment: this creator has turned comments off for their account (creator_info "
                "comment_disabled), so a post cannot allow comments; set disable_comment to true (this service "
                "refuses to turn it on for you: DISTRIBUTION_TIKTOK_REQUIRE_DISABLE_COMMENT)",
                metadata={"field": "disable_comment"},
                field_violations=[FieldViolation("disable_comment", "must be true: the creator turned comments off")],
            )
        return True

    async def _check_creator(
        self, account: Account, token: str, privacy_level: str, *, validate_only: bool
    ) -> CreatorInfo:
        def ask(token: str) -> Awaitable[CreatorInfo]:
            return self._retrier.run(lambda: self._tiktok.creator_info(token))

        try:
            # validate_only never refreshes (a refresh grant is a platform write).
            creator = await (ask(token) if validate_only else self._tokens.call(account, token, ask))
        except PlatformFailure as failure:
            # validate_only leaves the account as it is: it did not refresh the token first.
            if failure.error.token_rejected and not validate_only:
                await self._accounts.mark_needs_reconnect(
                    account.id, "TikTok rejected the token (creator_info)", failure.error.platform_code
                )
            raise failure.error.as_exception() from None
        allowed = creator.privacy_level_options
        if privacy_level not in allowed:
            options = ", ".join(f"PRIVACY_LEVEL_{o}" for o in allowed)
            raise FailedPrecondition(
                reason="TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED",
                message=f"privacy_level: this creator cannot post with PRIVACY_LEVEL_{privacy_level}; "
                f"use one of {options}",
                metadata={"field": "privacy_level", "allowed": ",".join(allowed)},
                field_violations=[FieldViolation("privacy_level", f"must be one of {options}")],
            )
        return creator
