"""The spans the use cases make, on a recording Tracer: a publish keeps the span it was
created in, its request's run is that span's child, and work that continues it later (a
late-fact check, a takeover) is a trace of its own linked back to it; every timeline event
names the trace it was written in."""

from __future__ import annotations

from datetime import timedelta

from server.bootstrap import Adapters, build_services
from server.config import Settings
from server.domain.models import Publish
from server.services.webhooks import WebhookPolicy
from tests.fakes import FakeWebhookSender, IgFailure
from tests.fakes.tracer import RecordingTracer
from tests.unit.conftest import World, make_world
from tests.unit.helpers import until


def traced_world() -> tuple[World, RecordingTracer]:
    tracer = RecordingTracer()
    return make_world(tracer=tracer), tracer


def traced_world_with_webhooks() -> tuple[World, RecordingTracer, FakeWebhookSender]:
    world, tracer = traced_world()
    sender = FakeWebhookSender()
    world.services = build_services(
        Settings(webhooks=WebhookPolicy(retry_scale=0.0, min_interval=0.0)),
        Adapters(store=world.store, instagram=world.instagram, tiktok=world.tiktok, clock=world.clock,
                 segmenter=world.segmenter, metrics=world.metrics, webhook_sender=sender, tracer=tracer),
        "unit-replica",
    )
    return world, tracer, sender


async def publish_in_request(world: World, tracer: RecordingTracer, **fields: object) -> tuple[Publish, str]:
    with tracer.span("request"):
        publish = await world.publish(await world.instagram_request(2, **fields))
    return publish, tracer.named("request")[-1].traceparent


async def test_a_publish_keeps_the_span_it_was_created_in_and_its_run_is_that_spans_child() -> None:
    world, tracer = traced_world()
    publish, traceparent = await publish_in_request(world, tracer)
    stored = await world.store.publishes.get(publish.id)
    assert stored is not None and stored.traceparent == traceparent
    [run] = tracer.named("publish.run")
    assert run.parent is not None and run.parent.name == "request"
    assert run.attributes["distribution.publish_final_state"] == "PUBLISHED"
    steps = [s.name for s in tracer.spans if s.parent is run]
    assert steps[:3] == ["step create_children", "step wait_children", "step create_carousel"]
    assert {e.trace_id for e in await world.events(publish.id)} == {run.trace_id}


async def test_a_late_fact_check_is_a_trace_of_its_own_linked_to_the_publishs_request() -> None:
    world, tracer = traced_world()
    world.instagram.script("media", IgFailure.server_error("media"))
    publish, traceparent = await publish_in_request(world, tracer)
    world.clock.advance(30)
    await world.services.reconciler.run_once()
    [check] = tracer.named("publish.reconcile")
    assert check.parent is None and check.links == [traceparent]
    assert check.attributes["distribution.pending_facts"] == "permalink"
    events = await world.events(publish.id)
    assert events[-1].type == "LATE_FACTS_ARRIVED" and events[-1].trace_id == check.trace_id


async def test_a_takeover_runs_in_a_trace_of_its_own_linked_to_the_publishs_request() -> None:
    world, tracer = traced_world()
    world.instagram.add_container("c-1")
    with tracer.span("request"):
        orphan = await world.seed(await world.instagram_request(2), container_id="c-1")
    [request] = tracer.named("request")
    row = world.store.publishes.rows[orphan.id]
    row.traceparent = request.traceparent  # as PublishLog.create keeps it
    row.owner, row.lease_until = "dead-replica", world.clock.now() - timedelta(seconds=1)
    assert await world.services.runner.resume_unfinished() == 1
    await until(lambda: world.store.publishes.rows[orphan.id].done)
    [run] = tracer.named("publish.run")
    assert run.parent is None and run.links == [request.traceparent]
    taken = [e for e in await world.events(orphan.id) if e.type == "TAKEN_OVER"]
    assert [e.trace_id for e in taken] == [run.trace_id]



async def test_the_events_a_due_claim_writes_name_the_claims_trace_and_the_run_links_to_the_request() -> None:
    """SCHEDULE_DUE and MISSED are written by the store inside the scheduler's claim: they name
    the claim's trace (as every event names the trace that wrote it); the run is a trace of
    its own linked to the request that scheduled it."""
    world, tracer = traced_world()
    stale, _ = await publish_in_request(world, tracer, publish_time=world.at(60))
    world.clock.advance(3700)  # `stale` is now due past the hour's lateness limit
    publish, traceparent = await publish_in_request(world, tracer, publish_time=world.at(60), allow_duplicate=True)
    world.clock.advance(61)
    assert {p.id for p in await world.services.scheduler.run_due()} == {stale.id, publish.id}
    [claim] = tracer.named("publish_log.claim_due_schedules")
    assert [(e.type, e.trace_id) for e in await world.events(stale.id)][-1] == ("MISSED", claim.trace_id)
    assert ("SCHEDULE_DUE", claim.trace_id) in [(e.type, e.trace_id) for e in await world.events(publish.id)]
    stored = await world.store.publishes.get(publish.id)
    assert stored is not None
    await world.services.runner.wait(stored)
    [run] = tracer.named("publish.run")
    assert run.parent is None and run.links == [traceparent]


async def test_each_webhook_attempt_is_a_trace_of_its_own_linked_to_the_publishs_request() -> None:
    world, tracer, sender = traced_world_with_webhooks()
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    await world.services.webhooks.create(world.workspace, "https://hooks.example.com/d", [], "")
    publish, traceparent = await publish_in_request(world, tracer)
    assert await world.services.dispatcher.run_once() == len(sender.posts) > 0
    attempts = tracer.named("webhook.deliver")
    assert len(attempts) == len(sender.posts)
    for attempt in attempts:
        assert attempt.parent is None and attempt.links == [traceparent]
        assert attempt.attributes["distribution.publish_id"] == publish.id
    await world.services.runner.stop(0)
