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
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Protocol

from server.domain.commands import CarouselRequest, TikTokCarousel
from server.domain.errors import AlreadyExists, FailedPrecondition, FieldViolation, NotFound, invalid
from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.media_rules import instagram_problems, media_error, tiktok_problems
from server.domain.models import (
    Account,
    AccountState,
    Media,
    Platform,
    Publish,
    PublishEvent,
    PublishKind,
    PublishState,
)
from server.domain.platforms import PlatformFailure
from server.domain.ports import AccountStore, Clock, MediaStore, TikTokApi
from server.domain.validation import (
    canonical_id,
    id_violation,
    instagram_caption_violations,
    media_ids_violations,
    tiktok_text_violations,
)
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


def fingerprint(request: CarouselRequest) -> str:
    """Identifies what was asked, so a request_id reused for something else is caught."""
    body = {k: v for k, v in asdict(request).items() if k not in ("request_id", "allow_duplicate")}
    body["type"] = type(request).__name__
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def content_fingerprint(platform: Platform, request: CarouselRequest) -> str:
    """Identifies what would appear on the account: the same media in the same order and caption."""
    body = [platform.value, request.account_id, list(request.media_ids), request.caption]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def _canonical(request: CarouselRequest) -> CarouselRequest:
    """The request with every id in the form this service stores (any letter case accepted)."""
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

    def check_media(self, media: list[Media]) -> None:
        """Refuses media the platform does not take, naming every offending item."""
        ...

    def options(self, req: CarouselRequest) -> dict[str, object]:
        """The platform options saved on the record (the workflow reads them)."""
        ...

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, *, validate_only: bool = False
    ) -> None:
        """The platform's own preconditions, checked with the account's token. With
        `validate_only`, by platform reads only, and nothing is counted or written."""
        ...


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
        publish_log: PublishLog,
        runner: PublishRunner,
        tokens: AccountTokens,
        policies: dict[type, PlatformPolicy],
        clock: Clock,
        library: MediaLibrary | None = None,
    ) -> None:
        self._accounts = accounts
        self._media = media
        self._log = publish_log
        self._runner = runner
        self._tokens = tokens
        self._policies = policies
        self._clock = clock
        # Inspects media again before a publish when their inspection is too old.
        self._library = library

    async def publish(self, workspace_id: str, req: CarouselRequest) -> Publish:
        """Publishes the carousel and returns its record once it is live (or in the inbox);
        a publish that failed or could not be confirmed raises its recorded error."""
        policy = self._policies[type(req)]
        req = _canonical(req)
        _check_shape(policy, req)
        existing = await self._replay(workspace_id, req)
        if existing is not None:
            return existing
        account, media = await self._account_and_media(workspace_id, req, policy)
        publish = self._new_publish(workspace_id, policy, req)
        guarded = not publish.request_id and not req.allow_duplicate
        # The duplicate guard is read here, before any platform call, and checked again in
        # the write itself, where it is atomic (two replicas, or two calls at once).
        earlier, token = await asyncio.gather(
            self._recent_same_content(publish) if guarded else _nothing(),
            self._tokens.access_token(account),
        )
        if earlier is not None:
            raise _duplicate(earlier)
        await policy.before_recording(account, token, req)
        return await self._record_and_run(publish, Ready(account, media, token), guarded)

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
        _check_shape(policy, req)
        if req.request_id:
            existing = await self._log.store.find_by_request_id(workspace_id, req.request_id)
            if existing is not None:
                _same_request(existing, fingerprint(req), req.request_id)
        account, media = await self._account_and_media(workspace_id, req, policy)
        publish = self._new_publish(workspace_id, policy, req)
        guarded = not publish.request_id and not req.allow_duplicate
        earlier, token = await asyncio.gather(
            self._recent_same_content(publish) if guarded else _nothing(),
            self._tokens.stored_token(account),
        )
        if earlier is not None:
            raise _duplicate(earlier)
        await policy.before_recording(account, token, req, validate_only=True)
        return Preview(publish, media)

    async def _account_and_media(
        self, workspace_id: str, req: CarouselRequest, policy: PlatformPolicy
    ) -> tuple[Account, list[Media]]:
        # Both are reads; asked together they cost the store one round trip. An account
        # error is reported first.
        account, media = await asyncio.gather(
            self._account(workspace_id, req.account_id, policy),
            self._media_in_order(workspace_id, req.media_ids),
            return_exceptions=True,
        )
        if isinstance(account, BaseException):
            raise account
        if isinstance(media, BaseException):
            raise media
        if self._library is not None:
            media = await self._library.refreshed(media)
        policy.check_media(media)
        return account, media

    async def _recent_same_content(self, publish: Publish) -> Publish | None:
        return await self._log.store.recent_same_content(
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

    async def _media_in_order(self, workspace_id: str, media_ids: list[str]) -> list[Media]:
        found = await self._media.get_many(workspace_id, media_ids)
        missing = [i for i, mid in enumerate(media_ids) if mid not in found]
        if missing:
            names = ", ".join(f"media_ids[{i}] ({media_ids[i]})" for i in missing)
            raise NotFound(
                reason="MEDIA_NOT_FOUND",
                message=f"No media in this workspace for {names}; check the ids (ListMedia lists them)",
                metadata={"field": ",".join(f"media_ids[{i}]" for i in missing)},
            )
        return [found[mid] for mid in media_ids]

    def _new_publish(self, workspace_id: str, policy: PlatformPolicy, req: CarouselRequest) -> Publish:
        now = self._clock.now()
        return Publish(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            platform=policy.platform,
            kind=PublishKind.CAROUSEL,
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
            child_container_ids=[None] * len(req.media_ids) if policy.platform == Platform.INSTAGRAM else [],
        )

    async def _replay(self, workspace_id: str, req: CarouselRequest) -> Publish | None:
        """AIP-155: a request_id seen before returns that publish's outcome (waiting if in flight)."""
        if not req.request_id:
            return None
        existing = await self._log.store.find_by_request_id(workspace_id, req.request_id)
        if existing is None:
            return None
        _same_request(existing, fingerprint(req), req.request_id)
        return await self._outcome(existing)

    async def _record_and_run(self, publish: Publish, ready: Ready, guarded: bool) -> Publish:
        """Writes the record (leased to this replica, already PROCESSING, with its first two
        events: the run starts at once) and runs it. Without a request_id, the same content
        to the same account within 24 hours is most likely a client retry: refused unless
        the caller says it is meant (`guarded`; checked in the same atomic step as the write)."""
        created_event = PublishEvent(
            type="CREATED", state=PublishState.PENDING,
            message=f"{publish.platform.label} carousel of {publish.image_count} images recorded",
        )
        started_event = PublishEvent(
            type="PROCESSING_STARTED", state=PublishState.PROCESSING,
            message=self._runner.started_message(publish.platform),
        )
        publish.state = PublishState.PROCESSING
        publish.owner = self._runner.owner
        publish.lease_until = publish.created_at + self._runner.lease_until()
        conflict = await self._log.create(
            publish, created_event, started_event,
            duplicate_since=publish.created_at - DUPLICATE_WINDOW if guarded else None,
        )
        if conflict is None:
            return await self._outcome(publish, ready)
        existing = conflict.existing
        if conflict.reason == "duplicate":
            raise _duplicate(existing)
        # Another call with the same request_id won the race: attach to its publish.
        _same_request(existing, publish.request_fingerprint, publish.request_id or "")
        return await self._outcome(existing)

    async def _outcome(self, publish: Publish, ready: Ready | None = None) -> Publish:
        final = publish if publish.done else await self._runner.wait(publish, ready)
        if final.state in (PublishState.FAILED, PublishState.UNCONFIRMED) and final.error is not None:
            raise final.error.as_exception(final.id)
        return final


def _same_request(existing: Publish, request_fingerprint: str | None, request_id: str) -> None:
    if existing.request_fingerprint != request_fingerprint:
        raise AlreadyExists(
            reason="REQUEST_ID_REUSED",
            message=f"request_id {request_id} was already used for a different request "
            f"(publish {existing.id}); use a new request_id for a new publish",
            metadata={"publish_id": existing.id, "request_id": request_id},
        )


def _check_shape(policy: PlatformPolicy, req: CarouselRequest) -> None:
    violations = [
        *policy.request_violations(req),
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
        ]

    def check_media(self, media: list[Media]) -> None:
        problems = instagram_problems(media)
        if problems:
            raise media_error(problems)

    def options(self, req: CarouselRequest) -> dict[str, object]:
        return {}

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, *, validate_only: bool = False
    ) -> None:
        if validate_only:
            await self._quota.check(account.external_account_id, token)
            return
        await self._quota.reserve(account.id, account.external_account_id, token)


class TikTokPolicy:
    platform = Platform.TIKTOK
    account_field = "tiktok_account_id"

    def __init__(self, tiktok: TikTokApi, accounts: AccountStore, retrier: Retrier) -> None:
        self._tiktok = tiktok
        self._accounts = accounts
        self._retrier = retrier

    def request_violations(self, req: CarouselRequest) -> list[FieldViolation]:
        assert isinstance(req, TikTokCarousel)
        violations = [
            *media_ids_violations(req.media_ids, TIKTOK.min_items, TIKTOK.max_items, "TikTok"),
            *tiktok_text_violations(req.caption, req.description),
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

    def check_media(self, media: list[Media]) -> None:
        problems = tiktok_problems(media)
        if problems:
            raise media_error(problems)

    def options(self, req: CarouselRequest) -> dict[str, object]:
        assert isinstance(req, TikTokCarousel)
        options: dict[str, object] = {
            "post_mode": req.post_mode,
            "cover_index": req.cover_index,
            "description": req.description,
        }
        if req.post_mode == "DIRECT":
            options.update(
                privacy_level=req.privacy_level,
                disable_comment=req.disable_comment,
                auto_add_music=req.auto_add_music,
            )
        return options

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, *, validate_only: bool = False
    ) -> None:
        """Asks creator_info and refuses a privacy level the creator may not use, before init.
        (A read: validate_only asks it too.)"""
        assert isinstance(req, TikTokCarousel)
        if req.post_mode != "DIRECT":
            return
        try:
            creator = await self._retrier.run(lambda: self._tiktok.creator_info(token))
        except PlatformFailure as failure:
            # validate_only leaves the account as it is: it did not refresh the token first.
            if failure.error.token_rejected and not validate_only:
                await self._accounts.mark_needs_reconnect(account.id)
            raise failure.error.as_exception() from None
        allowed = creator.privacy_level_options
        if req.privacy_level not in allowed:
            options = ", ".join(f"PRIVACY_LEVEL_{o}" for o in allowed)
            raise FailedPrecondition(
                reason="TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED",
                message=f"privacy_level: this creator cannot post with PRIVACY_LEVEL_{req.privacy_level}; "
                f"use one of {options}",
                metadata={"field": "privacy_level", "allowed": ",".join(allowed)},
                field_violations=[FieldViolation("privacy_level", f"must be one of {options}")],
            )
