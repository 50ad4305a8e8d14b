"""Connected accounts: connect (or reconnect), look up, list and disconnect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.errors import FieldViolation, NotFound, invalid
from server.domain.limits import MAX_ID_LENGTH, MAX_TOKEN_LENGTH, MAX_USERNAME_LENGTH
from server.domain.models import Account, Page, Platform
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.validation import is_uuid
from server.store.accounts import AccountRepository, NewAccount


@dataclass(frozen=True)
class ConnectRequest:
    platform: Platform | None
    external_account_id: str
    username: str
    access_token: str
    refresh_token: str
    access_token_expires_at: datetime | None
    refresh_token_expires_at: datetime | None

    def __repr__(self) -> str:  # tokens never reach a log through a repr
        return f"ConnectRequest(platform={self.platform}, external_account_id={self.external_account_id!r})"


def _connect_violations(req: ConnectRequest) -> list[FieldViolation]:
    violations = []
    if req.platform is None:
        violations.append(FieldViolation("platform", "is required (PLATFORM_INSTAGRAM or PLATFORM_TIKTOK)"))
    ext = req.external_account_id
    if not ext:
        violations.append(FieldViolation("external_account_id", "is required"))
    elif len(ext) > MAX_ID_LENGTH or not ext.isprintable() or " " in ext:
        violations.append(
            FieldViolation("external_account_id", f"must be at most {MAX_ID_LENGTH} printable characters, no spaces")
        )
    elif req.platform == Platform.INSTAGRAM and not (ext.isascii() and ext.isdigit()):
        violations.append(FieldViolation("external_account_id", "must be the numeric IG user id"))
    if len(req.username) > MAX_USERNAME_LENGTH or not req.username.isprintable():
        violations.append(FieldViolation("username", f"must be at most {MAX_USERNAME_LENGTH} printable characters"))
    for name, token, required in (("access_token", req.access_token, True), ("refresh_token", req.refresh_token, False)):
        if required and not token:
            violations.append(FieldViolation(name, "is required"))
        elif len(token) > MAX_TOKEN_LENGTH or (token and not (token.isascii() and token.isprintable())):
            violations.append(FieldViolation(name, f"must be at most {MAX_TOKEN_LENGTH} printable ASCII characters"))
    return violations


def account_not_found(account_id: str, field: str = "id") -> NotFound:
    return NotFound(
        reason="ACCOUNT_NOT_FOUND",
        message=f"No account {account_id}",
        metadata={"account_id": account_id, "field": field},
    )


class Accounts:
    def __init__(self, repository: AccountRepository) -> None:
        self._repository = repository

    async def connect(self, workspace_id: str, req: ConnectRequest) -> Account:
        violations = _connect_violations(req)
        if violations:
            raise invalid(violations)
        assert req.platform is not None
        return await self._repository.upsert(
            NewAccount(
                workspace_id=workspace_id,
                platform=req.platform,
                external_account_id=req.external_account_id,
                username=req.username,
                access_token=req.access_token,
                refresh_token=req.refresh_token or None,
                access_token_expires_at=req.access_token_expires_at,
                refresh_token_expires_at=req.refresh_token_expires_at,
            )
        )

    async def get(self, workspace_id: str, account_id: str, field: str = "id") -> Account:
        if not is_uuid(account_id):
            raise invalid([FieldViolation(field, "must be an account id (a UUID)")])
        account = await self._repository.get(workspace_id, account_id)
        if account is None:
            raise account_not_found(account_id, field)
        return account

    async def list(
        self,
        workspace_id: str,
        requested_size: int,
        token: str,
        platform: Platform | None,
        show_disconnected: bool,
    ) -> Page:
        size = page_size(requested_size)
        filters = {"platform": platform.value if platform else None, "show_disconnected": show_disconnected}
        cursor = decode_token(token, filters)
        rows = await self._repository.list(workspace_id, size + 1, cursor, platform, show_disconnected)
        items = [account for account, _ in rows[:size]]
        next_token = encode_token(rows[size - 1][1], filters) if len(rows) > size else ""
        return Page(items, next_token)

    async def disconnect(self, workspace_id: str, account_id: str) -> Account:
        if not is_uuid(account_id):
            raise invalid([FieldViolation("id", "must be an account id (a UUID)")])
        account = await self._repository.disconnect(workspace_id, account_id)
        if account is None:
            raise account_not_found(account_id)
        return account
