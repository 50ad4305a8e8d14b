"""Connections in progress on SQLite: one row per `state`, claimed by one UPDATE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlite_utils

from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.rows import db_time, py_time, select_one
from server.domain.connections import Claim, PendingConnection, PkceMethod
from server.domain.models import Platform


class SqliteConnectionStore:
    def __init__(self, database: Database, signing_keys: Sequence[bytes]) -> None:
        self._db = database
        self._keys = tuple(signing_keys)

    @property
    def signing_keys(self) -> Sequence[bytes]:
        return self._keys

    async def add(self, pending: PendingConnection) -> None:
        await self._db.run(_add, pending)

    async def claim(self, workspace_id: str, nonce: str, now: datetime) -> Claim:
        return await self._db.run(_claim, workspace_id, nonce, now)


def _add(db: sqlite_utils.Database, pending: PendingConnection) -> None:
    with atomic(db):
        db.conn.execute("DELETE FROM account_connections WHERE expires_at < ?", [db_time(pending.created_at)])
        db.conn.execute(
            "INSERT INTO account_connections (nonce, workspace_id, platform, redirect_uri, scopes, account_id,"
            " pkce, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                pending.nonce, pending.workspace_id, pending.platform.value, pending.redirect_uri,
                " ".join(pending.scopes), pending.account_id, pending.pkce.value,
                db_time(pending.created_at), db_time(pending.expires_at),
            ],
        )


def _claim(db: sqlite_utils.Database, workspace_id: str, nonce: str, now: datetime) -> Claim:
    with atomic(db):
        row = select_one(
            db, "SELECT * FROM account_connections WHERE nonce = ? AND workspace_id = ?", [nonce, workspace_id]
        )
        if row is None:
            return Claim(None)
        if row["used_at"] is not None:
            return Claim(None, already_used=True)
        db.conn.execute("UPDATE account_connections SET used_at = ? WHERE nonce = ?", [db_time(now), nonce])
    return Claim(
        PendingConnection(
            nonce=row["nonce"],
            workspace_id=row["workspace_id"],
            platform=Platform(row["platform"]),
            redirect_uri=row["redirect_uri"],
            scopes=tuple(row["scopes"].split()),
            account_id=row["account_id"],
            pkce=PkceMethod(row["pkce"]),
            created_at=py_time(row["created_at"]),
            expires_at=py_time(row["expires_at"]),
        )
    )
