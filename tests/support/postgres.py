"""A PostgreSQL database of its own for a test: created fresh, dropped afterwards.

The server is the machine's (and CI's) PostgreSQL at 127.0.0.1:5432 with trust
authentication, or DISTRIBUTION_TEST_POSTGRES. Where none answers, PostgreSQL tests are
skipped with one line saying how to enable them; in CI (the CI variable set) a missing
server fails the run instead.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.postgres import PostgresStore

ADMIN_URL = os.environ.get("DISTRIBUTION_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
# Under pytest-xdist each worker is a process of its own with its own template and shared
# database (the module state below); the worker's name in theirs tells them apart on the
# server (and tells which worker left one behind).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _url_for(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = (
            f"PostgreSQL at {ADMIN_URL} does not answer ({type(exc).__name__}); start it or set "
            "DISTRIBUTION_TEST_POSTGRES to a server where the tests may create databases"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# A database the service's migrations ran on once in this test process: new databases are
# copied from it (CREATE DATABASE ... TEMPLATE), much faster than migrating each one.
_templates: list[str] = []  # [the migrated template, the shared database copied from it]


async def _migrated_template(admin: asyncpg.Connection) -> str:
    if not _templates:
        name = f"distribution_template_{WORKER}_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_at_exit, name)
        store = await PostgresStore.open(_url_for(name), TokenCipher([Fernet.generate_key()]), pool_size=1)
        await store.close()
        _templates.append(name)
    return _templates[0]


def _drop_at_exit(name: str) -> None:
    async def drop() -> None:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    with contextlib.suppress(Exception):
        asyncio.run(drop())


@contextlib.asynccontextmanager
async def fresh_database(migrated: bool = False) -> AsyncIterator[str]:
    """The URL of a new database, dropped (with its connections) at exit: empty, or with
    the service's schema already in place (`migrated`)."""
    name = f"distribution_test_{WORKER}_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        template = f' TEMPLATE "{await _migrated_template(admin)}"' if migrated else ""
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
        try:
            yield _url_for(name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# The tables a store writes, emptied between tests that share one migrated database.
_TABLES = (
    "webhook_deliveries, webhooks, publish_events, publishes, media, accounts, rate_window_calls, instagram_quota,"
    " account_connections"
)


@contextlib.asynccontextmanager
async def emptied_database() -> AsyncIterator[str]:
    """The URL of this test process's shared, migrated database, emptied when the block ends:
    for tests that need a clean store but not a database of their own (cheaper than
    creating one per test)."""
    admin = await _admin()
    try:
        if len(_templates) < 2:
            await _migrated_template(admin)
            name = f"distribution_shared_{WORKER}_{uuid.uuid4().hex[:12]}"
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates[0]}"')
            atexit.register(_drop_at_exit, name)
            _templates.append(name)
    finally:
        await admin.close()
    url = _url_for(_templates[1])
    try:
        yield url
    finally:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()
