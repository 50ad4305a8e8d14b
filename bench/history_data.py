"""A realistic publish history, bulk-loaded into a database made by the service's own migrations.

`build(path, rows)` creates a SQLite database with the store's own `Database` (which runs the
migrations), connects the accounts and registers the media through the service's own
repositories (so tokens are sealed as the service expects), then inserts `rows` publish
records with their timelines in large transactions (server/adapters/sqlite/bulk.py,
executemany). `build_postgres(url, rows)` does the same on a PostgreSQL database: the
service's PostgresStore migrates it and writes accounts and media, then the same rows (same
seed: the same publishes, the same ids) go in with COPY (server/adapters/postgres/bulk.py).

Distribution: 100 accounts (50 Instagram, 50 TikTok) with Zipf-like activity (the busiest
account has ~20× the quietest's publishes), create times uniform over the last 90 days,
Instagram carousels of 2-10 images and TikTok ones of 2-35, states PUBLISHED / FAILED /
UNCONFIRMED (both), DELIVERED_TO_INBOX (TikTok), and a handful of PENDING / PROCESSING among
the newest (in flight; the service resumes them at start). About half the publishes carry a
request_id. Timelines follow the workflows: 4-14 events for Instagram, 4-5 for TikTok.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.local import LocalChangeFeed
from server.adapters.migrations import MIGRATIONS
from server.adapters.postgres import PostgresStore
from server.adapters.postgres.bulk import copy_batch, prepared_for_load
from server.adapters.sqlite.accounts import SqliteAccountStore
from server.adapters.sqlite.bulk import insert_batch
from server.adapters.sqlite.database import Database
from server.adapters.sqlite.media import SqliteMediaStore
from server.domain.models import Media, MediaKind, NewAccount, Platform, Storage

WORKSPACE = "default"  # the open (no API keys) service's one workspace
DAYS = 90
ACCOUNTS_PER_PLATFORM = 50
MEDIA_POOL = 500
UNFINISHED_EACH = 50  # PENDING and PROCESSING rows, among the newest, one per account
BATCH = 50_000

STATE_WEIGHTS = {
    "INSTAGRAM": {"PUBLISHED": 0.88, "FAILED": 0.105, "UNCONFIRMED": 0.015},
    "TIKTOK": {"PUBLISHED": 0.70, "DELIVERED_TO_INBOX": 0.18, "FAILED": 0.10, "UNCONFIRMED": 0.02},
}
WORDS = [
    "autumn", "sunset", "city", "coffee", "launch", "drop", "summer", "sale", "behind", "the", "scenes", "team",
    "studio", "new", "collection", "travel", "food", "recipe", "weekend", "morning", "light", "#brand", "#new",
    "#ootd", "@partner",
]


@dataclass
class History:
    """What the benchmark needs to know about the loaded data."""

    path: Path | None  # the SQLite file (None on PostgreSQL)
    secret_key: str
    rows: int
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> platform
    sample_ids: list[str] = field(default_factory=list)  # terminal publishes, for GetPublish
    oldest: str = ""
    newest: str = ""
    seconds: float = 0.0
    insert_seconds: float = 0.0  # of which inside executemany
    index_seconds: float = 0.0  # of which rebuilding the indexes
    events: int = 0
    url: str = ""  # the PostgreSQL database (empty on SQLite)


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _prepare(path: Path, key: str, rng: random.Random) -> tuple[dict[str, str], list[str]]:
    database = Database(path)
    await database.open()  # creates the schema with the service's own migrations
    try:
        return await _accounts_and_media(
            SqliteAccountStore(database, TokenCipher([key.encode()]), LocalChangeFeed()), SqliteMediaStore(database),
            rng,
        )
    finally:
        await database.close()


async def _prepare_postgres(url: str, key: str, rng: random.Random) -> tuple[dict[str, str], list[str]]:
    store = await PostgresStore.open(url, TokenCipher([key.encode()]), pool_size=2)  # migrates
    try:
        return await _accounts_and_media(store.accounts, store.media, rng)
    finally:
        await store.close()


async def _accounts_and_media(
    accounts_repo: Any, media_repo: Any, rng: random.Random
) -> tuple[dict[str, str], list[str]]:
    """Accounts and media through the store's own repositories (tokens sealed as the service does)."""
    accounts: dict[str, str] = {}
    for platform in (Platform.INSTAGRAM, Platform.TIKTOK):
        for i in range(ACCOUNTS_PER_PLATFORM):
            external = f"1784142{i:010d}" if platform == Platform.INSTAGRAM else f"history-open-{i}"
            account = await accounts_repo.upsert(NewAccount(
                workspace_id=WORKSPACE, platform=platform, external_account_id=external,
                username=f"history{i}", access_token=f"history-{platform.value.lower()}-token-{i}",
                refresh_token=None, access_token_expires_at=None, refresh_token_expires_at=None,
            ))
            accounts[account.id] = platform.value
    media_ids = []
    created = datetime.now(UTC) - timedelta(days=DAYS + 1)
    for i in range(MEDIA_POOL):
        media = Media(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), workspace_id=WORKSPACE,
            url=f"https://storage.googleapis.com/history-bucket/photo-{i}.jpg", mime_type="image/jpeg",
            kind=MediaKind.IMAGE, storage=Storage.GCS, width=1080, height=1350, size_bytes=350_000,
            created_at=created,
        )
        await media_repo.insert(media)
        media_ids.append(media.id)
    return accounts, media_ids


_INDEX_RE = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(\w+)", re.IGNORECASE)


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drops the secondary indexes the migrations created; returns their CREATE statements."""
    statements = []
    for migration in MIGRATIONS:
        for statement in migration.sqlite:
            match = _INDEX_RE.match(statement)
            if match:
                conn.execute(f"DROP INDEX IF EXISTS {match.group(1)}")
                statements.append(statement)
    return statements


class _Clock:
    """Stored time strings ("...T12:00:00.000001Z") from epoch seconds, fast: the prefix up to
    the minute is cached, since a publish's events share their minute."""

    def __init__(self) -> None:
        self._minute = -1
        self._prefix = ""

    def __call__(self, epoch: float) -> str:
        second, micro = divmod(round(epoch * 1_000_000), 1_000_000)
        minute, sec = divmod(second, 60)
        if minute != self._minute:
            self._minute = minute
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
        return f"{self._prefix}{sec:02d}.{micro:06d}Z"


def _json_list(items: list[str | None]) -> str:
    return "[" + ",".join("null" if i is None else f'"{i}"' for i in items) + "]"


TIKTOK_OPTIONS = json.dumps(
    {"post_mode": "DIRECT", "cover_index": 0, "description": "", "privacy_level": "SELF_ONLY",
     "disable_comment": False, "auto_add_music": False}, separators=(",", ":"))
ERRORS = {
    state: json.dumps(
        {"code": code, "reason": reason, "message": "Instagram could not fetch media_ids[1] (2207052)",
         "platform_code": "9004", "platform_subcode": "2207052", "platform_trace_id": "AbCdEfGhIjK",
         "retryable": False, "item_index": 1}, separators=(",", ":"))
    for state, code, reason in (("FAILED", "FAILED_PRECONDITION", "MEDIA_FETCH_FAILED"),
                                ("UNCONFIRMED", "DEADLINE_EXCEEDED", "PUBLISH_UNCONFIRMED"))
}
IG_SIZES = (2, 3, 3, 3, 4, 4, 5, 6, 8, 10)
TT_SIZES = (2, 3, 3, 4, 4, 5, 6, 8, 10, 15, 35)


def _generate(
    rows: int, seed: int, accounts: dict[str, str], media_pool: list[str], history: History
) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Yields the rows in batches of BATCH publishes, as (publishes, events) in SQLite's form
    (server/adapters/sqlite/bulk.py's column order); notes the sample ids and the time bounds
    on `history`."""
    rng = random.Random(seed)
    # In the order they were connected (Instagram 0-49, then TikTok 0-49), not by id: the ids
    # differ between stores, and the same seed must give every store the same publishes.
    account_ids = list(accounts)
    rng.shuffle(account_ids)
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(account_ids))]
    now = time.time() - 60
    span = DAYS * 86400.0
    offsets = sorted((rng.random() * span for _ in range(rows)), reverse=True)  # oldest first
    owners = rng.choices(account_ids, weights, k=rows)
    states = {p: rng.choices(list(w), list(w.values()), k=rows) for p, w in STATE_WEIGHTS.items()}
    unfinished_from = rows - 2 * UNFINISHED_EACH if rows > 20 * UNFINISHED_EACH else rows
    sample_every = max(1, rows // 2000)
    clock = _Clock()
    randbits = rng.getrandbits
    randbelow = rng.randrange
    pool2 = media_pool + media_pool
    captions = [" ".join(rng.choices(WORDS, k=rng.randint(4, 20))) for _ in range(512)]
    platform_ids = iter(range(17_841_000_000_000_000, 18_000_000_000_000_000))
    publishes: list[tuple] = []
    events: list[tuple] = []
    sample_ids = history.sample_ids
    bounds = ["", ""]
    for i in range(rows):
        # In-flight records: one per account (TikTok allows 6 inits a minute per token).
        account = owners[i] if i < unfinished_from else account_ids[(i - unfinished_from) % len(account_ids)]
        platform = accounts[account]
        instagram = platform == "INSTAGRAM"
        created = now - offsets[i]
        state = ("PENDING" if i % 2 == 0 else "PROCESSING") if i >= unfinished_from else states[platform][i]
        if instagram and state == "DELIVERED_TO_INBOX":
            state = "PUBLISHED"
        publish_id = str(uuid.UUID(int=randbits(128), version=4))
        n = rng.choice(IG_SIZES if instagram else TT_SIZES)
        start = randbelow(MEDIA_POOL)
        media = pool2[start:start + n]
        caption = captions[randbits(9)] if instagram else captions[randbits(9)][:90]  # TikTok: ≤ 90
        request_id = str(uuid.UUID(int=randbits(128), version=4)) if randbits(1) else None
        fingerprint = hashlib.sha256(publish_id.encode()).hexdigest() if request_id else None
        timeline: list[tuple[str, str | None, str, str]] = [
            ("CREATED", "PENDING", f"{'Instagram' if instagram else 'TikTok'} carousel of {n} images recorded", "{}")]
        children: list[str | None] = [None] * n if instagram else []
        container = ig_media = permalink = tt_publish = error = published = None
        if state != "PENDING":
            timeline.append(("PROCESSING_STARTED", "PROCESSING", "Processing started", "{}"))
        if instagram and state not in ("PENDING", "PROCESSING"):
            made = n if state != "FAILED" or randbits(1) else randbelow(n)
            for k in range(made):
                children[k] = cid = str(next(platform_ids))
                timeline.append(("CHILD_CONTAINER_CREATED", None, f"Container {cid} created for media_ids[{k}]",
                                 f'{{"index":{k},"container_id":"{cid}"}}'))
            if state in ("PUBLISHED", "UNCONFIRMED"):
                timeline.append(("CHILDREN_FINISHED", None, f"All {n} item containers are FINISHED", "{}"))
                container = str(next(platform_ids))
                timeline.append(("CAROUSEL_CONTAINER_CREATED", None, f"Carousel container {container} created",
                                 f'{{"container_id":"{container}"}}'))
            if state == "PUBLISHED":
                ig_media = str(next(platform_ids))
                permalink = f"https://www.instagram.com/p/{publish_id[:11]}/"
                timeline.append(("PUBLISHED", "PUBLISHED", f"Published as IG media {ig_media}",
                                 f'{{"ig_media_id":"{ig_media}","creation_id":"{container}"}}'))
                timeline.append(("PERMALINK_READ", None, f"Permalink {permalink}", f'{{"permalink":"{permalink}"}}'))
        elif not instagram and state not in ("PENDING", "PROCESSING"):
            if state != "FAILED" or rng.random() < 0.7:
                tt_publish = f"p_pub_url~v2.{next(platform_ids)}{randbelow(100):02d}"
                timeline.append(("TIKTOK_INIT_ACCEPTED", None, f"TikTok accepted the post as {tt_publish}",
                                 f'{{"publish_id":"{tt_publish}","post_mode":"DIRECT_POST","photo_count":{n}}}'))
                timeline.append(("TIKTOK_STATUS", None, "TikTok status PROCESSING_DOWNLOAD",
                                 '{"status":"PROCESSING_DOWNLOAD"}'))
            if state == "PUBLISHED":
                timeline.append(("PUBLISHED", "PUBLISHED", "Published; TikTok gives no public post id", "{}"))
            elif state == "DELIVERED_TO_INBOX":
                timeline.append(("DELIVERED_TO_INBOX", "DELIVERED_TO_INBOX", "Delivered to the inbox", "{}"))
        if state in ("FAILED", "UNCONFIRMED"):
            error = ERRORS[state]
            timeline.append((state, state, "The platform could not fetch media_ids[1]", "{}"))
        t = created
        for kind, ev_state, message, details in timeline:
            events.append((publish_id, clock(t), kind, ev_state, message, details))
            t += 0.4
        if state in ("PUBLISHED", "DELIVERED_TO_INBOX"):
            published = clock(t - 0.8)
        c = clock(created)
        publishes.append((
            publish_id, WORKSPACE, platform, "CAROUSEL", account, _json_list(media), caption,
            "{}" if instagram else TIKTOK_OPTIONS, state, request_id, fingerprint, _json_list(children), container,
            ig_media, permalink, tt_publish, None, error, "[]", None, 0, c, clock(t), published,
        ))
        if i % sample_every == 0 and state not in ("PENDING", "PROCESSING"):
            sample_ids.append(publish_id)
        if i == 0:
            bounds[0] = c
        bounds[1] = c
        if len(publishes) >= BATCH:
            yield publishes, events
            publishes, events = [], []
    if publishes:
        yield publishes, events
    history.oldest, history.newest = bounds


def build(path: Path, rows: int, seed: int = 7) -> History:
    started = time.perf_counter()
    key = Fernet.generate_key().decode()
    accounts, media_pool = asyncio.run(_prepare(path, key, random.Random(seed)))
    history = History(path=path, secret_key=key, rows=rows, accounts=accounts)

    conn = sqlite3.connect(str(path), isolation_level=None)
    # A bulk load: no journal, no syncs, a big cache. The service reopens the file in WAL mode.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1048576")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("BEGIN")
    indexes = _drop_indexes(conn)
    conn.execute("COMMIT")

    for publishes, events in _generate(rows, seed, accounts, media_pool, history):
        flushed = time.perf_counter()
        insert_batch(conn, publishes, events)
        history.insert_seconds += time.perf_counter() - flushed
        history.events += len(events)
    # The indexes, rebuilt from the migrations' own statements (a sort beats random inserts).
    indexing = time.perf_counter()
    conn.execute("BEGIN")
    for statement in indexes:
        conn.execute(statement)
    conn.execute("COMMIT")
    history.index_seconds = time.perf_counter() - indexing
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    history.seconds = time.perf_counter() - started
    return history


# --- PostgreSQL ----------------------------------------------------------------------------------

_when = datetime.fromisoformat  # "...T12:00:00.000001Z" (Python 3.11 reads the Z)


def _pg_publish(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A generated row (SQLite's form) as PostgreSQL's COPY takes it (bulk.PUBLISH_COLUMNS)."""
    return (
        *row[:5], json.loads(row[5]), row[6], row[7], row[8], row[9], row[10], json.loads(row[11]), *row[12:18],
        _when(row[21]), _when(row[22]), _when(row[23]) if row[23] else None,
    )


def _pg_event(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (row[0], _when(row[1]), *row[2:])


def build_postgres(url: str, rows: int, seed: int = 7) -> History:
    """The same history as `build` (same seed, same publishes) in the PostgreSQL database at `url`."""
    return asyncio.run(_build_postgres(url, rows, seed))


async def _build_postgres(url: str, rows: int, seed: int) -> History:
    import asyncpg  # noqa: PLC0415 - only the PostgreSQL half needs it

    started = time.perf_counter()
    key = Fernet.generate_key().decode()
    accounts, media_pool = await _prepare_postgres(url, key, random.Random(seed))
    history = History(path=None, secret_key=key, rows=rows, accounts=accounts, url=url)
    conn = await asyncpg.connect(url)  # no custom codecs: jsonb goes as the JSON text
    try:
        async with prepared_for_load(conn):
            for publishes, events in _generate(rows, seed, accounts, media_pool, history):
                flushed = time.perf_counter()
                await copy_batch(conn, [_pg_publish(p) for p in publishes], [_pg_event(e) for e in events])
                history.insert_seconds += time.perf_counter() - flushed
                history.events += len(events)
            indexing = time.perf_counter()
        history.index_seconds = time.perf_counter() - indexing
    finally:
        await conn.close()
    history.seconds = time.perf_counter() - started
    return history
