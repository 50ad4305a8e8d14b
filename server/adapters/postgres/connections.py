"""Connections in progress on PostgreSQL: one row per `state`; the claim is one UPDATE
whose row lock lets exactly one of any number of replicas have it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from server.adapters.postgres.database import Database
from server.domain.connections import Claim, PendingConnection, PkceMethod
from server.domain.models import Platform


class PostgresConnectionStore:
    def __init__(self, database: Database, signing_keys: Sequence[bytes]) -> None:
        self._db = database
        self._keys = tuple(signing_keys)

    @property
    def signing_keys(self) -> Sequence[bytes]:
        return self._keys

    async def add(self, pending: PendingConnection) -> None:
        await self._db.execute("DELETE FROM account_connections WHERE expires_at < $1", pending.created_at)
        await self._db.execute(
            "INSERT INTO account_connections (nonce, workspace_id, platform, redirect_uri, scopes, account_id,"
            " pkce, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            pending.nonce, pending.workspace_id, pending.platform.value, pending.redirect_uri,
            " ".join(pending.scopes), pending.account_id, pending.pkce.value, pending.created_at, pending.expires_at,
        )

    async def claim(self, workspace_id: str, nonce: str, now: datetime) -> Claim:
        row = await self._db.fetchrow(
            "UPDATE account_connections SET used_at = $3 WHERE nonce = $1 AND workspace_id = $2"
            " AND used_at IS NULL RETURNING *",
            nonce, workspace_id, now,
        )
        if row is not None:
            return Claim(_pending(row))
        used = await self._db.fetchval(
            "SELECT used_at IS NOT NULL FROM account_connections WHERE nonce = $1 AND workspace_id = $2",
            nonce, workspace_id,
        )
        return Claim(None, already_used=bool(used))


def _pending(row: asyncpg.Record) -> PendingConnection:
    return PendingConnection(
        nonce=row["nonce"],
        workspace_id=row["workspace_id"],
        platform=Platform(row["platform"]),
        redirect_uri=row["redirect_uri"],
        scopes=tuple(row["scopes"].split()),
        account_id=row["account_id"],
        pkce=PkceMethod(row["pkce"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )
