"""Publish history: get one publish with its timeline, list with filters, watch a live one."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence

from server.domain.errors import FieldViolation, NotFound, invalid
from server.domain.models import Page, Publish, PublishEvent, PublishFilter, PublishVersion
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.ports import EventLog, PublishRecords
from server.domain.validation import canonical_id, check_id, id_violation
from server.services.workflow.publish_log import PublishLog


class PublishHistory:
    def __init__(self, records: PublishRecords, events: EventLog, publish_log: PublishLog) -> None:
        self._records = records
        self._events = events
        self._log = publish_log

    async def get(self, workspace_id: str, publish_id: str) -> tuple[Publish, list[PublishEvent]]:
        publish_id = check_id("id", publish_id, "a publish id")
        # Asked together, the record and its timeline cost one store round trip (and come
        # from one transaction); the timeline is only returned once the record is found.
        publish, events = await asyncio.gather(
            self._records.get_in_workspace(workspace_id, publish_id), self._events.events(publish_id)
        )
        return found_publish(publish_id, publish), events

    async def list_page(self, workspace_id: str, requested_size: int, token: str, where: PublishFilter) -> Page:
        """One page, newest first. Its items are PublishVersions (id and revision), not
        records: a caller holding a page's publishes already (rendered, say) reads only the
        ones it lacks or holds at another revision, with `records`."""
        if where.account_id is not None:
            account_id = canonical_id(where.account_id)
            violation = id_violation("account_id", account_id, "an account id")
            if violation is not None:
                raise invalid([violation])
            where = dataclasses.replace(where, account_id=account_id)
        if where.created_after and where.created_before and where.created_after >= where.created_before:
            raise invalid([FieldViolation("create_time_before", "must be later than create_time_after")])
        if where.scheduled_after and where.scheduled_before and where.scheduled_after >= where.scheduled_before:
            raise invalid([FieldViolation("schedule_time_before", "must be later than schedule_time_after")])
        size = page_size(requested_size)
        filters = {
            "account_id": where.account_id,
            "platform": where.platform.value if where.platform else None,
            "state": where.state.value if where.state else None,
            "after": where.created_after.isoformat() if where.created_after else None,
            "before": where.created_before.isoformat() if where.created_before else None,
        }
        # Added only when set, so tokens issued without them stay valid.
        if where.scheduled_after:
            filters["scheduled_after"] = where.scheduled_after.isoformat()
        if where.scheduled_before:
            filters["scheduled_before"] = where.scheduled_before.isoformat()
        if where.kind:
            filters["kind"] = where.kind.value
        cursor = decode_token(token, filters)
        rows = await self._records.list_page(workspace_id, size + 1, cursor, where)
        items = [version for version, _ in rows[:size]]
        next_token = encode_token(rows[size - 1][1], filters) if len(rows) > size else ""
        return Page(items, next_token)

    async def records(self, workspace_id: str, versions: Sequence[PublishVersion]) -> list[Publish]:
        """The records of a page's publishes, in page order. Each is read now, so it may be at
        a later revision than the page found; a caller keeping copies keys them by the record's."""
        found = {p.id: p for p in await self._records.get_many(workspace_id, [v.id for v in versions])}
        return [found[v.id] for v in versions if v.id in found]

    async def watch(self, workspace_id: str, publish_id: str) -> AsyncIterator[tuple[Publish, list[PublishEvent]]]:
        """The publish now (with its whole timeline), then each change with its new events,
        until it is in a terminal state and its run is over: the facts a run reads right
        after the terminal state (Instagram's permalink) reach the watcher too; facts left to
        the reconciler (minutes to days) do not hold the stream open. Woken by the publish
        log, never by polling the database."""
        publish_id = check_id("id", publish_id, "a publish id")
        found_publish(publish_id, await self._records.get_in_workspace(workspace_id, publish_id))
        updates = self._log.subscribe(publish_id)  # before reading, so no change falls in between
        try:
            publish, events = await self.get(workspace_id, publish_id)
            last = events[-1].id if events else 0
            shown = publish.revision
            yield publish, events
            # A run announces its last record as it ends: it may still be queued here.
            while not (publish.done and updates.empty()):
                publish = await updates.get()
                while not updates.empty():
                    publish = updates.get_nowait()
                new = await self._events.events(publish_id, after=last or 0)
                if new:
                    last = new[-1].id
                if new or publish.revision != shown:  # the run's end repeats its last record
                    shown = publish.revision
                    yield publish, new
        finally:
            self._log.unsubscribe(publish_id, updates)


def found_publish(publish_id: str, publish: Publish | None) -> Publish:
    """`publish`, or the NotFound every RPC naming a publish id answers when it is not in the caller's workspace."""
    if publish is None:
        raise NotFound(
            reason="PUBLISH_NOT_FOUND",
            message=f"No publish {publish_id} in this workspace; check the id (ListPublishes lists them)",
            metadata={"publish_id": publish_id},
        )
    return publish
