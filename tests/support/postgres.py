"""A PostgreSQL database of its own for a test: created fresh, dropped afterwards.

The server is the machine's (and CI's) PostgreSQL at 127.0.0.1:5432 with trust
authentication, or DISTRIBUTION_TEST_POSTGRES. Where none answers, PostgreSQL tests are
skipped with one line saying how to enable them; in CI (the CI variable set) a missing
server fails the run instead.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

ADMIN_URL = os.environ.get("DISTRIBUTION_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


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


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped (with its connections) at exit."""
    name = f"distribution_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _url_for(name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
