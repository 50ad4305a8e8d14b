"""Real videos for video specs, made with PyAV (FFmpeg) at first request and cached: one
grey picture (or random pictures, for a large file) with silence, in the container and
codec the spec names, the MP4/MOV index before the media data (faststart) or after it.
No aiohttp here."""

from __future__ import annotations

import functools
import os
import random
import tempfile
from typing import TYPE_CHECKING

from server.sandbox.media.convention import MediaSpec, VideoSpec

if TYPE_CHECKING:
    import av

# FFmpeg's muxer names, and the encoders of each codec name.
_MUXERS = {"MP4": "mp4", "MOV": "mov", "WEBM": "webm", "AVI": "avi", "MKV": "matroska"}
_ENCODERS = {"h264": "libx264", "mpeg4": "mpeg4", "vp9": "libvpx-vp9"}
_SAMPLE_RATE = 48_000


def video_bytes(spec: MediaSpec) -> bytes:
    assert spec.video is not None
    return _make(spec.format, spec.width, spec.height, spec.video)


@functools.lru_cache(maxsize=32)
def _make(fmt: str, width: int, height: int, video: VideoSpec) -> bytes:
    # PyAV loads FFmpeg's libraries (about 20 MB per process) on first use, not at start: a
    # service that never inspects a video never holds them.
    import av  # noqa: PLC0415

    muxer = _MUXERS[fmt]
    # faststart rewrites the finished file to move the index forward: it needs a real file.
    options = {} if video.moov_at_end or muxer not in ("mp4", "mov") else {"movflags": "+faststart"}
    with tempfile.TemporaryDirectory(prefix="sandbox-video-") as directory:
        path = os.path.join(directory, f"video.{muxer}")
        with av.open(path, "w", format=muxer, options=options) as container:
            # Every stream is added before the first packet is written (the header names them all).
            pictures = container.add_stream(_ENCODERS[video.codec], rate=video.fps)
            audio_encoder = "libopus" if fmt == "WEBM" else "aac"
            sound = container.add_stream(audio_encoder, rate=_SAMPLE_RATE) if video.audio else None
            assert isinstance(pictures, av.VideoStream) and (sound is None or isinstance(sound, av.AudioStream))
            _write_video(container, pictures, width, height, video)
            if sound is not None:
                _write_audio(container, sound, video.seconds)
        with open(path, "rb") as made:
            return made.read()


def _write_video(
    container: av.container.OutputContainer, stream: av.VideoStream, width: int, height: int, video: VideoSpec
) -> None:
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    if video.codec == "h264":
        stream.options = {"preset": "ultrafast"}
    elif video.codec == "vp9":
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
    import av  # noqa: PLC0415

    frame = av.VideoFrame(width, height, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes([128]) * plane.buffer_size)
    # Noise drawn from a generator seeded by what is asked for: the same URL serves the same
    # bytes every time, in every process, as a real host does (a service restarted mid-upload
    # reads the very file it began with).
    noise = random.Random(f"{width}x{height} {video}")
    for index in range(max(1, round(video.seconds * video.fps))):
        if video.noise:
            for plane in frame.planes:
                plane.update(noise.randbytes(plane.buffer_size))
        frame.pts = index
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _write_audio(container: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    import av  # noqa: PLC0415

    samples = stream.codec_context.frame_size or 1024
    frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
    frame.sample_rate = _SAMPLE_RATE
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    for start in range(0, int(seconds * _SAMPLE_RATE), samples):
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
