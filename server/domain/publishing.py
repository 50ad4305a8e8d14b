"""Carousel publishing: check everything that can be checked, record the publish, run it.

Checks happen in this order, each before any platform call that could post:
request shape (INVALID_ARGUMENT, all violations at once), the account (NOT_FOUND,
wrong platform, not connected), the media (NOT_FOUND, kind and type, hosting), and for
TikTok direct posts the creator's allowed privacy levels. Only then is a record written
(PENDING) and handed to the runner.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from server.domain.errors import (
    ERROR_CLASSES,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    NotFound,
    invalid,
)
from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.models import (
    Account,
    AccountState,
    Media,
    MediaKind,
    Platform,
    Publish,
    PublishKind,
    PublishState,
    Storage,
    utcnow,
)
from server.domain.platform_errors import TOKEN_REJECTED_REASONS, connection_error, tiktok_error
from server.domain.validation import (
    id_violations,
    instagram_caption_violations,
    media_ids_violations,
    request_id_violations,
    tiktok_text_violations,
)
from server.domain.quota import InstagramQuota
from server.domain.tokens import AccountTokens
from server.domain.workflow.log import PublishLog
from server.domain.workflow.retry import Retrier
from server.domain.workflow.runner import PublishRunner, Ready
from server.platforms.errors import PlatformConnectionError, PlatformError
from server.platforms.tiktok import TikTokClient
from server.store.accounts import AccountRepository
from server.store.media import MediaRepository
from server.store.publishes import PublishEvent

_STATE_TEXT = {
    AccountState.NEEDS_RECONNECT: "needs a reconnect: the platform rejected its token",
    AccountState.DISCONNECTED: "is disconnected",
}


@dataclass(frozen=True)
class InstagramCarousel:
    media_ids: list[str]
    account_id: str
    caption: str = ""
    request_id: str = ""
    allow_duplicate: bool = False


@dataclass(frozen=True)
class TikTokCarousel:
    media_ids: list[str]
    account_id: str
    caption: str = ""
    privacy_level: str = "SELF_ONLY"  # TikTok's value: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, ...
    post_mode: str = "DIRECT"  # DIRECT or INBOX
    cover_index: int = 0
    description: str = ""
    disable_comment: bool = False
    auto_add_music: bool = False
    request_id: str = ""
    allow_duplicate: bool = False


# The duplicate guard's window (without request_id).
DUPLICATE_WINDOW = timedelta(hours=24)


def fingerprint(request: InstagramCarousel | TikTokCarousel) -> str:
    """Identifies what was asked, so a request_id reused for something else is caught."""
    body = {k: v for k, v in asdict(request).items() if k not in ("request_id", "allow_duplicate")}
    body["type"] = type(request).__name__
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def content_fingerprint(platform: Platform, request: InstagramCarousel | TikTokCarousel) -> str:
    """Identifies what would appear on the account: the same media in the same order and caption."""
    body = [platform.value, request.account_id, list(request.media_ids), request.caption]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


class Publisher:
    def __init__(
        self,
        accounts: AccountRepository,
        media: MediaRepository,
        publish_log: PublishLog,
        runner: PublishRunner,
        tiktok: TikTokClient,
        tokens: AccountTokens,
        quota: InstagramQuota,
        retrier: Retrier,
    ) -> None:
        self._retrier = retrier
        self._tokens = tokens
        self._quota = quota
        self._accounts = accounts
        self._media = media
        self._log = publish_log
        self._runner = runner
        self._tiktok = tiktok

    # --- Instagram ------------------------------------------------------------

    async def publish_instagram_carousel(self, workspace_id: str, req: InstagramCarousel) -> Publish:
        violations = [
            *media_ids_violations(req.media_ids, INSTAGRAM.min_items, INSTAGRAM.max_items, "Instagram"),
            *id_violations("instagram_account_id", req.account_id, "an account"),
            *instagram_caption_violations(req.caption),
            *request_id_violations(req.request_id),
        ]
        if violations:
            raise invalid(violations)
        existing = await self._replay(workspace_id, req)
        if existing is not None:
            return existing
        account, media = await self._account_and_media(
            workspace_id, req.account_id, Platform.INSTAGRAM, "instagram_account_id", req.media_ids
        )
        kind_violations = [
            FieldViolation(f"media_ids[{i}]", f"is a {m.kind.value.lower()}; Instagram carousels take images only")
            for i, m in enumerate(media)
            if m.kind != MediaKind.IMAGE
        ]
        if kind_violations:
            raise invalid(kind_violations, reason="MEDIA_NOT_ALLOWED")
        publish = self._new_publish(workspace_id, Platform.INSTAGRAM, req, options={})
        # Both are reads; asked together they cost the store one round trip.
        _, token = await asyncio.gather(
            self._guard_duplicate(publish, req.allow_duplicate), self._tokens.access_token(account)
        )
        await self._quota.reserve(account.id, account.external_account_id, token)
        publish.child_container_ids = [None] * len(req.media_ids)
        return await self._run(publish, Ready(account, media, token))

    # --- TikTok ---------------------------------------------------------------

    async def publish_tiktok_carousel(self, workspace_id: str, req: TikTokCarousel) -> Publish:
        violations = [
            *media_ids_violations(req.media_ids, TIKTOK.min_items, TIKTOK.max_items, "TikTok"),
            *id_violations("tiktok_account_id", req.account_id, "an account"),
            *tiktok_text_violations(req.caption, req.description),
            *request_id_violations(req.request_id),
        ]
        if not 0 <= req.cover_index < max(len(req.media_ids), 1):
            violations.append(
                FieldViolation("cover_index", f"must index media_ids (0 to {max(len(req.media_ids) - 1, 0)})")
            )
        if violations:
            raise invalid(violations)
        existing = await self._replay(workspace_id, req)
        if existing is not None:
            return existing
        account, media = await self._account_and_media(
            workspace_id, req.account_id, Platform.TIKTOK, "tiktok_account_id", req.media_ids
        )
        type_violations = [
            FieldViolation(f"media_ids[{i}]", f"is {m.mime_type}; TikTok carousels take JPEG or WebP images only")
            for i, m in enumerate(media)
            if m.kind != MediaKind.IMAGE or m.mime_type not in TIKTOK.image_mime_types
        ]
        if type_violations:
            raise invalid(type_violations, reason="MEDIA_NOT_ALLOWED")
        s3_items = [i for i, m in enumerate(media) if m.storage == Storage.S3]
        if s3_items:
            names = ", ".join(f"media_ids[{i}]" for i in s3_items)
            raise FailedPrecondition(
                reason="MEDIA_HOSTING_NOT_SUPPORTED",
                message=f"{names} {'is' if len(s3_items) == 1 else 'are'} S3-backed; TikTok carousels "
                "take GCS-hosted images only. Register GCS-hosted copies and publish those.",
                metadata={"field": names, "storage": "S3"},
                field_violations=[
                    FieldViolation(f"media_ids[{i}]", "is S3-backed; use a GCS-hosted image") for i in s3_items
                ],
            )
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
        publish = self._new_publish(workspace_id, Platform.TIKTOK, req, options)
        _, token = await asyncio.gather(
            self._guard_duplicate(publish, req.allow_duplicate), self._tokens.access_token(account)
        )
        if req.post_mode == "DIRECT":
            await self._check_privacy(account, token, req.privacy_level)
        return await self._run(publish, Ready(account, media, token))

    async def _check_privacy(self, account: Account, token: str, privacy_level: str) -> None:
        """Asks creator_info and refuses a privacy level the creator may not use, before init."""
        try:
            creator = await self._retrier.run(lambda: self._tiktok.creator_info(token), read_only=True)
        except PlatformError as exc:
            error = tiktok_error(exc)
            if error.reason in TOKEN_REJECTED_REASONS:
                await self._accounts.mark_needs_reconnect(account.id)
            raise _as_domain_error(error.to_dict(), {}) from None
        except PlatformConnectionError as exc:
            raise _as_domain_error(connection_error(exc).to_dict(), {}) from None
        allowed = creator.privacy_level_options
        if privacy_level not in allowed:
            options = ", ".join(f"PRIVACY_LEVEL_{o}" for o in allowed)
            raise FailedPrecondition(
                reason="TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED",
                message=f"This creator cannot post with PRIVACY_LEVEL_{privacy_level}; allowed: {options}",
                metadata={"field": "privacy_level", "allowed": ",".join(allowed)},
                field_violations=[FieldViolation("privacy_level", f"must be one of {options}")],
            )

    # --- shared ---------------------------------------------------------------

    async def _account_and_media(
        self, workspace_id: str, account_id: str, platform: Platform, field: str, media_ids: list[str]
    ) -> tuple[Account, list[Media]]:
        """Loads both at once (one store round trip); an account error is reported first."""
        account, media = await asyncio.gather(
            self._account(workspace_id, account_id, platform, field),
            self._media_in_order(workspace_id, media_ids),
            return_exceptions=True,
        )
        for result in (account, media):
            if isinstance(result, BaseException):
                raise result
        return account, media  # type: ignore[return-value]

    async def _account(self, workspace_id: str, account_id: str, platform: Platform, field: str) -> Account:
        account = await self._accounts.get(workspace_id, account_id)
        if account is None:
            raise NotFound(
                reason="ACCOUNT_NOT_FOUND",
                message=f"No account {account_id}",
                metadata={"account_id": account_id, "field": field},
            )
        if account.platform != platform:
            raise invalid(
                [FieldViolation(field, f"is a {account.platform.label} account, not {platform.label}")],
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
                message=f"No media for {names}",
                metadata={"field": ",".join(f"media_ids[{i}]" for i in missing)},
            )
        return [found[mid] for mid in media_ids]

    def _new_publish(
        self,
        workspace_id: str,
        platform: Platform,
        req: InstagramCarousel | TikTokCarousel,
        options: dict[str, object],
    ) -> Publish:
        now = utcnow()
        return Publish(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            platform=platform,
            kind=PublishKind.CAROUSEL,
            account_id=req.account_id,
            media_ids=list(req.media_ids),
            caption=req.caption,
            options=options,
            state=PublishState.PENDING,
            request_id=req.request_id or None,
            request_fingerprint=fingerprint(req),
            content_fingerprint=content_fingerprint(platform, req),
            created_at=now,
            updated_at=now,
        )

    async def _replay(self, workspace_id: str, req: InstagramCarousel | TikTokCarousel) -> Publish | None:
        """AIP-155: a request_id seen before returns that publish's outcome (waiting if in flight)."""
        if not req.request_id:
            return None
        existing = await self._log.repository.find_by_request_id(workspace_id, req.request_id)
        if existing is None:
            return None
        if existing.request_fingerprint != fingerprint(req):
            raise AlreadyExists(
                reason="REQUEST_ID_REUSED",
                message=f"request_id {req.request_id} was already used for a different request "
                f"(publish {existing.id}); use a new request_id for a new publish",
                metadata={"publish_id": existing.id, "request_id": req.request_id},
            )
        return await self._outcome(existing)

    async def _guard_duplicate(self, publish: Publish, allow_duplicate: bool) -> None:
        """Without request_id, the same content to the same account within 24 hours is most
        likely a client retry: refuse it unless the caller says it is meant."""
        if publish.request_id or allow_duplicate:
            return
        earlier = await self._log.repository.recent_same_content(
            publish.workspace_id, publish.account_id, publish.content_fingerprint,
            publish.created_at - DUPLICATE_WINDOW,
        )
        if earlier is not None:
            raise AlreadyExists(
                reason="DUPLICATE_PUBLISH",
                message=f"The same media and caption were published to this account at "
                f"{earlier.created_at.isoformat(timespec='seconds')} (publish {earlier.id}, "
                f"{earlier.state.value}); set allow_duplicate to publish them again, or send a "
                "request_id to make retries safe",
                metadata={"publish_id": earlier.id, "earlier_state": earlier.state.value},
            )

    async def _run(self, publish: Publish, ready: Ready) -> Publish:
        created = await self._log.repository.create(
            publish,
            PublishEvent(type="CREATED", message=f"{publish.platform.label} carousel of "
                         f"{publish.image_count} images recorded", state=PublishState.PENDING),
        )
        if not created:
            # Another call with the same request_id won the race: attach to its publish.
            existing = await self._log.repository.find_by_request_id(publish.workspace_id, publish.request_id or "")
            assert existing is not None
            if existing.request_fingerprint != publish.request_fingerprint:
                raise AlreadyExists(
                    reason="REQUEST_ID_REUSED",
                    message=f"request_id {publish.request_id} was already used for a different request",
                    metadata={"publish_id": existing.id, "request_id": publish.request_id or ""},
                )
            return await self._outcome(existing)
        return await self._outcome(publish, ready)

    async def _outcome(self, publish: Publish, ready: Ready | None = None) -> Publish:
        final = publish if publish.state.terminal else await self._runner.wait(publish, ready)
        if final.state in (PublishState.FAILED, PublishState.UNCONFIRMED) and final.error is not None:
            raise _as_domain_error(final.error.to_dict(), {"publish_id": final.id})
        return final


def _as_domain_error(error: dict[str, object], extra: dict[str, str]) -> DomainError:
    """Rebuilds the error a failed publish recorded, for the RPC that waited on it."""
    metadata = dict(extra)
    for key in ("platform_code", "platform_subcode", "platform_trace_id"):
        if error.get(key):
            metadata[key] = str(error[key])
    item = error.get("item_index")
    violations: list[FieldViolation] = []
    if item is not None:
        metadata["field"] = f"media_ids[{item}]"
        violations.append(FieldViolation(f"media_ids[{item}]", str(error["message"])))
    metadata["retryable"] = "true" if error.get("retryable") else "false"
    cls = ERROR_CLASSES.get(str(error["code"]), ERROR_CLASSES["INTERNAL"])
    return cls(
        reason=str(error["reason"]),
        message=str(error["message"]),
        metadata=metadata,
        field_violations=violations if cls.code == "INVALID_ARGUMENT" else [],
    )
