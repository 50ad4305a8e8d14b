"""Accounts table (the AccountStore port): connected platform accounts, tokens sealed at rest."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlite_utils

from server.adapters.crypto import TokenCipher
from server.adapters.local import LocalChangeFeed
from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.publishes import append_account_event
from server.adapters.sqlite.rows import db_time, keyset_clause, py_time, select, select_one
from server.domain.account_events import REJECTED, reauth_required, reconnected
from server.domain.models import Account, AccountState, Credentials, NewAccount, Platform, utcnow
from server.domain.pagination import Cursor


def _account(row: dict[str, Any]) -> Account:
    return Account(
        id=row["id"],
        workspace_id=row["workspace_id"],
        platform=Platform(row["platform"]),
        external_account_id=row["external_account_id"],
        username=row["username"],
        state=AccountState(row["state"]),
        has_refresh_token=row["refresh_token_sealed"] is not None,
        access_token_expires_at=py_time(row["access_token_expires_at"]),
        refresh_token_expires_at=py_time(row["refresh_token_expires_at"]),
        created_at=py_time(row["created_at"]),
        updated_at=py_time(row["updated_at"]),
    )


class SqliteAccountStore:
    def __init__(self, database: Database, cipher: TokenCipher, changes: LocalChangeFeed) -> None:
        self._db = database
        self._cipher = cipher
        self._changes = changes

    async def upsert(self, new: NewAccount) -> Account:
        """Connects an account, or reconnects (new tokens, ACTIVE) the one with the same platform id."""
        sealed_access = self._cipher.seal(new.access_token)
        sealed_refresh = self._cipher.seal(new.refresh_token) if new.refresh_token else None
        account, reconnected_ = await self._db.run(_upsert, new, sealed_access, sealed_refresh)
        if reconnected_:
            self._changes.announce(account.id)
        return account

    async def get(self, workspace_id: str, account_id: str) -> Account | None:
        row = await self._db.read(
            select_one,
            "SELECT * FROM accounts WHERE id = ? AND workspace_id = ?",
            [account_id, workspace_id],
        )
        return _account(row) if row else None

    async def credentials(self, account_id: str) -> Credentials | None:
        row = await self._db.read(
            select_one,
            "SELECT access_token_sealed, refresh_token_sealed FROM accounts WHERE id = ?",
            [account_id],
        )
        if not row or row["access_token_sealed"] is None:
            return None
        refresh = row["refresh_token_sealed"]
        return Credentials(
            access_token=self._cipher.open(row["access_token_sealed"]),
            refresh_token=self._cipher.open(refresh) if refresh else None,
        )

    async def list_page(
        self,
        workspace_id: str,
        limit: int,
        cursor: Cursor | None,
        platform: Platform | None,
        show_disconnected: bool,
    ) -> list[tuple[Account, Cursor]]:
        where = "workspace_id = ?"
        params: list[Any] = [workspace_id]
        if platform is not None:
            where += " AND platform = ?"
            params.append(platform.value)
        if not show_disconnected:
            where += " AND state != ?"
            params.append(AccountState.DISCONNECTED.value)
        clause, extra = keyset_clause(cursor)
        sql = (
            f"SELECT * FROM accounts WHERE {where}{clause} "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        rows = await self._db.read(select, sql, [*params, *extra, limit])
        return [(_account(r), Cursor(r["created_at"], r["id"])) for r in rows]

    async def save_tokens(
        self,
        account_id: str,
        *,
        access_token: str,
        refresh_token: str | None,
        access_token_expires_at: datetime | None,
        refresh_token_expires_at: datetime | None,
    ) -> None:
        """Stores a refreshed pair in one statement: a rotated refresh token is never lost."""
        values = [
            self._cipher.seal(access_token),
            self._cipher.seal(refresh_token) if refresh_token else None,
            db_time(access_token_expires_at),
            db_time(refresh_token_expires_at),
            db_time(utcnow()),
            account_id,
        ]
        await self._db.run(
            lambda db: db.execute(
                "UPDATE accounts SET access_token_sealed = ?, refresh_token_sealed = ?,"
                " access_token_expires_at = ?, refresh_token_expires_at = ?, updated_at = ?"
                " WHERE id = ? AND state != 'DISCONNECTED'",
                values,
            )
        )

    async def mark_needs_reconnect(self, account_id: str, reason: str = REJECTED, platform_code: str = "") -> None:
        """The platform rejected the stored token: publishing waits for a reconnect. The change
        and its account.reauth_required event are one transaction."""
        if await self._db.run(_mark_needs_reconnect, account_id, reason, platform_code):
            self._changes.announce(account_id)

    async def disconnect(self, workspace_id: str, account_id: str) -> Account | None:
        return await self._db.run(_disconnect, workspace_id, account_id)


def _mark_needs_reconnect(db: sqlite_utils.Database, account_id: str, reason: str, platform_code: str) -> bool:
    now = utcnow()
    with atomic(db):
        changed = db.conn.execute(
            "UPDATE accounts SET state = ?, updated_at = ? WHERE id = ? AND state = ? RETURNING workspace_id, platform",
            [AccountState.NEEDS_RECONNECT.value, db_time(now), account_id, AccountState.ACTIVE.value],
        ).fetchall()
        for workspace_id, platform in changed:
            append_account_event(db, workspace_id, account_id, platform, reauth_required(reason, now, platform_code))
        return bool(changed)


def _upsert(
    db: sqlite_utils.Database,
    new: NewAccount,
    sealed_access: str,
    sealed_refresh: str | None,
) -> tuple[Account, bool]:
    """The account, and whether it existed (a reconnect, with its event written)."""
    at = utcnow()
    now = db_time(at)
    with atomic(db):
        existing = select_one(
            db,
            "SELECT id, state FROM accounts WHERE workspace_id = ? AND platform = ? AND external_account_id = ?",
            [new.workspace_id, new.platform.value, new.external_account_id],
        )
        values = {
            "username": new.username,
            "state": AccountState.ACTIVE.value,
            "access_token_sealed": sealed_access,
            "refresh_token_sealed": sealed_refresh,
            "access_token_expires_at": db_time(new.access_token_expires_at),
            "refresh_token_expires_at": db_time(new.refresh_token_expires_at),
            "updated_at": now,
        }
        if existing:
            account_id = existing["id"]
            if new.keep_refresh_token and sealed_refresh is None:
                del values["refresh_token_sealed"], values["refresh_token_expires_at"]
            db.table("accounts").update(account_id, values)
            event = reconnected(AccountState(existing["state"]), at)
            append_account_event(db, new.workspace_id, account_id, new.platform.value, event)
        else:
            account_id = str(uuid.uuid4())
            db.table("accounts").insert(
                {
                    "id": account_id,
                    "workspace_id": new.workspace_id,
                    "platform": new.platform.value,
                    "external_account_id": new.external_account_id,
                    "created_at": now,
                    **values,
                }
            )
        row = select_one(db, "SELECT * FROM accounts WHERE id = ?", [account_id])
    assert row is not None
    return _account(row), existing is not None


def _disconnect(db: sqlite_utils.Database, workspace_id: str, account_id: str) -> Account | None:
    with atomic(db):
        row = select_one(
            db, "SELECT * FROM accounts WHERE id = ? AND workspace_id = ?", [account_id, workspace_id]
        )
        if row is None:
            return None
        if row["state"] != AccountState.DISCONNECTED.value:
            db.conn.execute(
                "UPDATE accounts SET state = ?, access_token_sealed = NULL, refresh_token_sealed = NULL,"
                " access_token_expires_at = NULL, refresh_token_expires_at = NULL, updated_at = ?"
                " WHERE id = ?",
                [AccountState.DISCONNECTED.value, db_time(utcnow()), account_id],
            )
            row = select_one(db, "SELECT * FROM accounts WHERE id = ?", [account_id])
    assert row is not None
    return _account(row)
