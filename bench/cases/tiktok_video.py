"""Case 13, TikTok video: platform calls per video publish against the documented minimum,
FILE_UPLOAD throughput against reading the same bytes from disk, and memory held per upload.

- Calls: `python -m server` (media read from its in-process sandbox media host) against the
  TikTok emulator in its own process (processing delay 0), one video publish at a time: one
  pulled from GCS, one uploaded from another host in `DISTRIBUTION_TIKTOK_UPLOAD_CHUNK_BYTES`
  chunks. The emulator's `/_sandbox/calls` counters before and after each. The documented
  minimum is creator_info + init + one status read, plus one PUT per chunk for an upload.
- Throughput and memory: in this process, the service's own parts (the MediaBytes reader
  over a sandbox media host in its own process, the TikTok client's chunk PUT to the
  emulator's upload URL) upload the `video_file` video (random pictures the media host makes)
  in `video_chunk_mib` MiB chunks; tracemalloc over the upload gives the memory held beyond
  the baseline. The baseline is the same number
  of bytes written to a file in the run's directory and read back in the same piece size,
  here, in the same run.
"""

from __future__ import annotations

import asyncio
import os
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import grpc

from bench.cases import Scale
from bench.harness import Processes, calls_since, peak_rss_mb
from bench.report import CaseResult, Row, Target, num
from tests.support.processes import Child, EmulatorProcess

NAME = "13. TikTok video"
MiB = 1024 * 1024


async def _publish(address: str, url: str) -> tuple[str, float]:
    from distribution.v1 import (  # noqa: PLC0415
        account_pb2,
        account_service_pb2,
        account_service_pb2_grpc,
        media_service_pb2,
        media_service_pb2_grpc,
        publishing_service_pb2,
        publishing_service_pb2_grpc,
    )

    async with grpc.aio.insecure_channel(address) as channel:
        accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        media = media_service_pb2_grpc.MediaServiceStub(channel)
        publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
        account = await accounts.ConnectAccount(account_service_pb2.ConnectAccountRequest(
            platform=account_pb2.PLATFORM_TIKTOK, external_account_id=f"bench-{uuid.uuid4()}", username="bench",
            access_token=f"bench-token-{uuid.uuid4()}",
        ))
        registered = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url=url))
        started = time.perf_counter()
        answer = await publishing.PublishTikTokVideo(publishing_service_pb2.PublishTikTokVideoRequest(
            media_id=registered.media.id, tiktok_account_id=account.account.id, title="bench"), timeout=300)
        return answer.source, time.perf_counter() - started


def _calls(ps: Processes, tiktok: EmulatorProcess, chunk: int, video: str) -> dict[str, dict[str, Any]]:
    """Each source's platform calls, its RPC's latency, and the service's peak RSS after it."""
    service = ps.service(None, tiktok, extra_env={"DISTRIBUTION_MEDIA_FETCH": "sandbox",
                                                   "DISTRIBUTION_TIKTOK_UPLOAD_CHUNK_BYTES": str(chunk)})
    found: dict[str, dict[str, Any]] = {}
    for label, url in (("PULL_FROM_URL", "gs://bench-bucket/clip.mp4"),
                       ("FILE_UPLOAD", f"https://videos.example.com/bench/clip-{video}.mp4")):
        before = tiktok.calls()
        source, seconds = asyncio.run(_publish(service.address, url))
        assert source == label, (source, label)
        found[label] = {"calls": calls_since(tiktok, before), "seconds": seconds,
                        "service_rss_mb": peak_rss_mb(service.pid)}
    service.stop()
    return found


async def _upload(media_origin: str, tiktok_base: str, video: str, chunk: int) -> dict[str, float]:
    from server.adapters.http import new_session  # noqa: PLC0415
    from server.adapters.media_fetch.ranges import SandboxMediaBytes  # noqa: PLC0415
    from server.adapters.tiktok.client import RateLimits, TikTokClient  # noqa: PLC0415
    from server.domain.platforms import VideoPost  # noqa: PLC0415
    from server.domain.tiktok_video import chunk_plan  # noqa: PLC0415

    url = f"https://videos.example.com/bench/upload-{video}.mp4"
    reader = SandboxMediaBytes(media_origin)
    session = new_session()
    # One init and the PUTs: no pacing, so no rate windows are read.
    client = TikTokClient(session, tiktok_base, None, RateLimits(init=0, status=0, creator_info=0))  # type: ignore[arg-type]
    try:
        size = await reader.size(url)
        plan = chunk_plan(size, chunk)
        init = await client.init_video_post("bench-upload-token", VideoPost(
            post_mode="MEDIA_UPLOAD", source="FILE_UPLOAD", video_size=size, chunk_size=plan.chunk_size,
            total_chunk_count=plan.total_chunk_count))
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        started = time.perf_counter()
        for index in range(plan.total_chunk_count):
            first, last = plan.byte_range(index)
            await client.upload_chunk(init.upload_url, first, last, size, "video/mp4", reader.read(url, first, last))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await reader.close()
        await session.close()
    return {"seconds": elapsed, "bytes": size, "peak_kib": (peak - before) / 1024, "chunks": plan.total_chunk_count,
            "chunk_bytes": plan.chunk_size}


def _disk(workdir: Path, size: int, piece: int = 64 * 1024) -> float:
    path = workdir / "video.bin"
    with path.open("wb") as out:
        for at in range(0, size, MiB):
            out.write(bytes(min(MiB, size - at)))
    started = time.perf_counter()
    with path.open("rb") as source:
        while source.read(piece):
            pass
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    video, chunk = scale.video_file, scale.video_chunk_mib * MiB
    with Processes() as ps:
        tiktok = ps.tiktok(0.0)
        calls = _calls(ps, tiktok, chunk, video)
        host = ps._started(Child("media", ["-m", "server.sandbox.media", "--port", "0"], ps.workdir / "media.log"))
        host.spawn()
        origin = host.wait_for(r"(http://127\.0\.0\.1:\d+)").group(1)
        upload = asyncio.run(_upload(origin, tiktok.base_url, video, chunk))
        disk_seconds = _disk(ps.workdir, int(upload["bytes"]))
    result.data = {"calls": calls, "upload": upload, "disk_seconds": disk_seconds}
    for label, measured in calls.items():
        counted = measured["calls"]
        total = sum(counted.values())
        chunks = counted.get("upload", 0)
        minimum = 3 + chunks
        result.rows.append(Row(
            case=NAME, scenario=f"platform calls per video publish, {label}" + (
                f" ({chunks} chunks)" if chunks else "") + "; latency of its one RPC",
            median_ms=measured["seconds"] * 1000, p99_ms=measured["seconds"] * 1000, throughput=None,
            rss_mb=measured["service_rss_mb"],
            baseline="documented minimum: creator_info + init + one status read"
            + (" + one PUT per chunk" if chunks else ""),
            ratio=f"{total} calls vs {minimum}", notes=", ".join(f"{k} {v}" for k, v in sorted(counted.items())),
        ))
        result.targets.append(Target(NAME, f"{label}: calls ≤ documented minimum + 2 (status polls)", f"{total}",
                                     total <= minimum + 2))
    mb = upload["bytes"] / 1e6
    rate, disk_rate = mb / upload["seconds"], mb / disk_seconds
    result.rows.append(Row(
        case=NAME, scenario=f"FILE_UPLOAD of {upload['bytes'] / 1e6:.1f} MB in {int(upload['chunks'])} chunks "
        f"(media host -> service -> TikTok emulator, loopback)",
        median_ms=upload["seconds"] * 1000, p99_ms=upload["seconds"] * 1000, throughput=None,
        rss_mb=peak_rss_mb(os.getpid()),
        baseline="reading the same number of bytes from a file on disk, 64 KiB reads",
        base_median_ms=disk_seconds * 1000, base_p99_ms=disk_seconds * 1000,
        ratio=f"{num(rate)} MB/s vs {num(disk_rate)} MB/s from disk ({rate / disk_rate:.1%})",
        notes=f"memory held during the upload {num(upload['peak_kib'])} KiB (tracemalloc); chunk "
        f"{int(upload['chunk_bytes'])} bytes; the RSS is this bench process's (the service's parts run in it)",
    ))
    result.targets.append(Target(
        NAME, "memory held per upload ≤ one chunk (never the file)",
        f"{num(upload['peak_kib'])} KiB vs chunk {int(upload['chunk_bytes']) // 1024} KiB",
        upload["peak_kib"] * 1024 <= upload["chunk_bytes"],
    ))
    return result
