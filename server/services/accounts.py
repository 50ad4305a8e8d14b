"""Connected accounts: connect (or reconnect), look up, list and disconnect."""

from __future__ import annotations

from server.domain.commands import ConnectRequest
from server.domain.errors import FieldViolation, NotFound, invalid
from server.domain.limits import MAX_ID_LENGTH, MAX_TOKEN_LENGTH, MAX_USERNAME_LENGTH
from server.domain.models import Account, NewAccount, Page, Platform
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.ports import AccountStore
from server.domain.validation import check_id
from server.services.account_health import AccountHealthReader


def _connect_violations(req: ConnectRequest) -> list[FieldViolation]:
    violations = []
    if req.platform is None:
        violations.append(FieldViolation("platform", "is required (PLATFORM_INSTAGRAM or PLATFORM_TIKTOK)"))
    ext = req.external_account_id
    if not ext:
        violations.append(FieldViolation("external_account_id", "is required"))
    elif len(ext) > MAX_ID_LENGTH or not ext.isprintable() or " " in ext:
        violations.append(
            FieldViolation(
                "external_account_id",
                f"must be at most {MAX_ID_LENGTH} printable characters without spaces; got {len(ext)} characters",
            )
        )
    elif req.platform == Platform.INSTAGRAM and not (ext.isascii() and ext.isdigit()):
        violations.append(FieldViolation(
            "external_account_id", "must be the account's Instagram user id, digits only (e.g. 17841400000000001)"
        ))
    if len(req.username) > MAX_USERNAME_LENGTH or not req.username.isprintable():
        violations.append(FieldViolation(
            "username", f"must be at most {MAX_USERNAME_LENGTH} printable characters; got {len(req.username)}"
        ))
    tokens = (("access_token", req.access_token, True), ("refresh_token", req.refresh_token, False))
    for name, token, required in tokens:
        if required and not token:
            violations.append(FieldViolation(name, "is required"))
        elif len(token) > MAX_TOKEN_LENGTH or (token and not (token.isascii() and token.isprintable())):
            # Never echoed, not even its length's neighbourhood of characters: only what is allowed.
            violations.append(FieldViolation(
                name, f"must be at most {MAX_TOKEN_LENGTH} printable ASCII characters, as the platform issued it"
            ))
    return violations


def account_not_found(account_id: str, field: str = "id") -> NotFound:
    return NotFound(
        reason="ACCOUNT_NOT_FOUND",
        message=f"No account {account_id} in this workspace; check the id (ListAccounts lists them)",
        metadata={"account_id": account_id, "field": field},
    )


class Accounts:
    """Every account returned carries its health as of the call (AccountHealthReader)."""

    def __init__(self, store: AccountStore, health: AccountHealthReader) -> None:
        self._store = store
        self._health = health

    async def connect(self, workspace_id: str, req: ConnectRequest) -> Account:
        violations = _connect_violations(req)
        if violations:
            raise invalid(violations)
        assert req.platform is not None
        account = await self._store.upsert(
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
        return await self._health.attach_one(account)

    async def get(self, workspace_id: str, account_id: str, field: str = "id") -> Account:
        account_id = check_id(field, account_id, "an account id")
        account = await self._store.get(workspace_id, account_id)
        if account is None:
            raise account_not_found(account_id, field)
        return await self._health.attach_one(account)

    async def list_page(
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
        rows = await self._store.list_page(workspace_id, size + 1, cursor, platform, show_disconnected)
        items = await self._health.attach([account for account, _ in rows[:size]])
        next_token = encode_token(rows[size - 1][1], filters) if len(rows) > size else ""
        return Page(items, next_token)

    async def disconnect(self, workspace_id: str, account_id: str) -> Account:
        account_id = check_id("id", account_id, "an account id")
        account = await self._store.disconnect(workspace_id, account_id)
        if account is None:
            raise account_not_found(account_id)
        return await self._health.attach_one(account)
