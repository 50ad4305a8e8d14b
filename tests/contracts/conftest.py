"""The store implementations every contract suite runs against.

Each entry opens a fresh, empty store and closes it after the test. Adding a store is
one line here (e.g. `pytest.param(open_postgres, id="postgres")`): every contract test
then runs against it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.postgres import PostgresStore
from server.adapters.sqlite import SqliteStore
from server.domain.ports import Store
from tests.fakes import FakeStore
from tests.support.postgres import emptied_database

OpenStore = Callable[[Path], AbstractAsyncContextManager[Store]]


@asynccontextmanager
async def open_fake(tmp_path: Path) -> AsyncIterator[Store]:
    store = FakeStore()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def open_sqlite(tmp_path: Path) -> AsyncIterator[Store]:
    store = await SqliteStore.open(tmp_path / "db" / "distribution.db", TokenCipher([Fernet.generate_key()]))
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def open_postgres(tmp_path: Path) -> AsyncIterator[Store]:
    """An empty store in this test process's shared database on the test PostgreSQL server,
    emptied after each test (tests/support/postgres.py: skipped where none answers, a
    failure in CI)."""
    async with emptied_database() as url:
        store = await PostgresStore.open(url, TokenCipher([Fernet.generate_key()]), pool_size=4)
        try:
            yield store
        finally:
            await store.close()


IMPLEMENTATIONS = [
    pytest.param(open_fake, id="fake"),
    pytest.param(open_sqlite, id="sqlite"),
    pytest.param(open_postgres, id="postgres"),
]


@pytest.fixture(params=IMPLEMENTATIONS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opener: OpenStore = request.param
    async with opener(tmp_path) as opened:
        yield opened
