"""Accounts table (the AccountStore port) on PostgreSQL: tokens sealed at rest."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from server.adapters.crypto import TokenCipher
from server.adapters.postgres.database import Database
from server.adapters.postgres.publishes import VALUES, account_event_from, append_account_event
from server.adapters.postgres.rows import keyset
from server.adapters.publish_rows import account_event_columns
from server.domain.account_events import REJECTED, reauth_required, reconnected
from server.domain.models import Account, AccountState, Credentials, NewAccount, Platform, utcnow
from server.domain.pagination import Cursor, cursor_time


def _account(row: asyncpg.Record) -> Account:
    return Account(
        id=str(row["id"]),
        workspace_id=row["workspace_id"],
        platform=Platform(row["platform"]),
        external_account_id=row["external_account_id"],
        username=row["username"],
        state=AccountState(row["state"]),
        has_refresh_token=row["refresh_token_sealed"] is not None,
        access_token_expires_at=row["access_token_expires_at"],
        refresh_token_expires_at=row["refresh_token_expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PostgresAccountStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self._db = database
        self._cipher = cipher

    async def upsert(self, new: NewAccount) -> Account:
        """The account's previous state is read under its row lock, so the account.reconnected
        event of an existing account says what it was, in the same transaction."""
        sealed_access = self._cipher.seal(new.access_token)
        sealed_refresh = self._cipher.seal(new.refresh_token) if new.refresh_token else None
        now = utcnow()
        async with self._db.connection() as conn, conn.transaction():
            previous = await conn.fetchval(
                "SELECT state FROM accounts WHERE workspace_id = $1 AND platform = $2 AND external_account_id = $3"
                " FOR UPDATE",
                new.workspace_id, new.platform.value, new.external_account_id,
            )
            row = await conn.fetchrow(
            "INSERT INTO accounts (id, workspace_id, platform, external_account_id, username, state,"
            " access_token_sealed, refresh_token_sealed, access_token_expires_at, refresh_token_expires_at,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'ACTIVE', $6, $7, $8, $9, $10, $10)"
            " ON CONFLICT (workspace_id, platform, external_account_id) DO UPDATE SET"
            " username = EXCLUDED.username, state = 'ACTIVE',"
            " access_token_sealed = EXCLUDED.access_token_sealed,"
            " refresh_token_sealed = CASE WHEN $11 AND EXCLUDED.refresh_token_sealed IS NULL"
            " THEN accounts.refresh_token_sealed ELSE EXCLUDED.refresh_token_sealed END,"
            " access_token_expires_at = EXCLUDED.access_token_expires_at,"
            " refresh_token_expires_at = CASE WHEN $11 AND EXCLUDED.refresh_token_sealed IS NULL"
            " THEN accounts.refresh_token_expires_at ELSE EXCLUDED.refresh_token_expires_at END,"
            " updated_at = EXCLUDED.updated_at"
            " RETURNING *, xmax <> 0 AS updated",
            str(uuid.uuid4()), new.workspace_id, new.platform.value, new.external_account_id, new.username,
            sealed_access, sealed_refresh, new.access_token_expires_at, new.refresh_token_expires_at, now,
            new.keep_refresh_token,
            )
            assert row is not None
            if row["updated"]:  # an account that existed (another connect may have created it meanwhile)
                event = reconnected(AccountState(previous or AccountState.ACTIVE.value), now)
                await append_account_event(conn, new.workspace_id, str(row["id"]), new.platform.value, event)
        return _account(row)

    async def get(self, workspace_id: str, account_id: str) -> Account | None:
        row = await self._db.fetchrow(
            "SELECT * FROM accounts WHERE id = $1 AND workspace_id = $2", account_id, workspace_id
        )
        return _account(row) if row else None

    async def credentials(self, account_id: str) -> Credentials | None:
        row = await self._db.fetchrow(
            "SELECT access_token_sealed, refresh_token_sealed FROM accounts WHERE id = $1", account_id
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
        clauses = ["workspace_id = $1"]
        params: list[Any] = [workspace_id]
        if platform is not None:
            params.append(platform.value)
            clauses.append(f"platform = ${len(params)}")
        if not show_disconnected:
            params.append(AccountState.DISCONNECTED.value)
            clauses.append(f"state != ${len(params)}")
        clauses.extend(keyset(cursor, params))
        params.append(limit)
        rows = await self._db.fetch(
            f"SELECT * FROM accounts WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(params)}",
            *params,
        )
        return [(_account(r), Cursor(cursor_time(r["created_at"]), str(r["id"]))) for r in rows]

    async def save_tokens(
        self,
        account_id: str,
        *,
        access_token: str,
        refresh_token: str | None,
        access_token_expires_at: datetime | None,
        refresh_token_expires_at: datetime | None,
    ) -> None:
        await self._db.execute(
            "UPDATE accounts SET access_token_sealed = $1, refresh_token_sealed = $2,"
            " access_token_expires_at = $3, refresh_token_expires_at = $4, updated_at = $5"
            " WHERE id = $6 AND state != 'DISCONNECTED'",
            self._cipher.seal(access_token), self._cipher.seal(refresh_token) if refresh_token else None,
            access_token_expires_at, refresh_token_expires_at, utcnow(), account_id,
        )

    async def mark_needs_reconnect(self, account_id: str, reason: str = REJECTED, platform_code: str = "") -> None:
        """The change and its account.reauth_required event are one statement."""
        now = utcnow()
        event = reauth_required(reason, now, platform_code)
        await self._db.execute(
            "WITH upd AS (UPDATE accounts SET state = 'NEEDS_RECONNECT', updated_at = $1"
            " WHERE id = $2 AND state = 'ACTIVE' RETURNING id, workspace_id, platform)"
            f" {account_event_from(3)}",
            now, account_id, *account_event_columns(event, VALUES),
        )

    async def disconnect(self, workspace_id: str, account_id: str) -> Account | None:
        row = await self._db.fetchrow(
            "UPDATE accounts SET state = 'DISCONNECTED', access_token_sealed = NULL, refresh_token_sealed = NULL,"
            " access_token_expires_at = NULL, refresh_token_expires_at = NULL,"
            " updated_at = CASE WHEN state = 'DISCONNECTED' THEN updated_at ELSE $3 END"
            " WHERE id = $1 AND workspace_id = $2 RETURNING *",
            account_id, workspace_id, utcnow(),
        )
        return _account(row) if row else None


