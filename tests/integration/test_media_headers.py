"""The media inspector's header reader (server/adapters/media_fetch/headers.py) on real file
bytes: what it says a file is, from its first bytes, and the words a refused item's error
carries when it is not an image this service reads. Pure: no network, no store."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from server.adapters.media_fetch import identify
from server.domain.models import InspectionOutcome


def webp(width: int, height: int, **options: object) -> bytes:
    out = io.BytesIO()
    colour = (90, 140, 200, 128) if options.pop("alpha", False) else (90, 140, 200)  # translucent: VP8X
    Image.new("RGBA" if len(colour) == 4 else "RGB", (width, height), colour).save(out, "WEBP", **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("options", "chunk"),
    [
        ({"quality": 80}, b"VP8 "),  # lossy: the frame header holds the size
        ({"lossless": True}, b"VP8L"),  # lossless: 14-bit sizes packed after the signature byte
        ({"alpha": True}, b"VP8X"),  # extended: the canvas size in the VP8X chunk
    ],
)
def test_every_webp_kind_is_read_for_its_size_from_its_first_chunk(options: dict[str, object], chunk: bytes) -> None:
    data = webp(1080, 1350, **options)
    assert data[12:16] == chunk  # the kind of WebP this case is about
    # Only the first 30 bytes are at hand: the size comes from the header, not from decoding.
    inspection = identify(data[:30], len(data), complete=False)
    assert (inspection.outcome, inspection.mime_type, inspection.width, inspection.height) == (
        InspectionOutcome.READ, "image/webp", 1080, 1350,
    )
    assert (inspection.size_bytes, inspection.sha256) == (len(data), "")  # the host's size; no digest of a prefix


def test_a_whole_file_read_is_sized_and_digested() -> None:
    data = webp(640, 800)
    inspection = identify(data, None, complete=True)
    assert (inspection.size_bytes, inspection.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_webp_cut_before_its_header_is_too_large_to_inspect() -> None:
    inspection = identify(webp(1080, 1080)[:20], 50_000, complete=False)
    assert inspection.outcome == InspectionOutcome.TOO_LARGE
    assert inspection.detail == "a WebP file whose header is not within the first 20 bytes"


def test_a_whole_webp_whose_header_makes_no_sense_is_not_media() -> None:
    data = b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 20  # no VP8 frame signature
    inspection = identify(data, None, complete=True)
    assert inspection.outcome == InspectionOutcome.NOT_MEDIA
    assert inspection.detail == "a WebP file whose header cannot be read"


def png_header(width: int, height: int) -> bytes:
    """The first bytes of a PNG file: signature, IHDR, and the start of its first IDAT chunk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return head + struct.pack(">I", 100_000) + b"IDAT" + b"\x00" * 16


def test_an_image_claiming_absurdly_many_pixels_is_too_large_without_being_decoded() -> None:
    inspection = identify(png_header(30_000, 30_000), 10_000, complete=False)
    assert inspection.outcome == InspectionOutcome.TOO_LARGE
    # Pillow's decompression-bomb bound, twice MAX_IMAGE_PIXELS (89,478,485)
    assert inspection.detail == "an image of more than 178,956,970 pixels"


def test_a_plausible_png_header_is_read_for_its_size() -> None:
    inspection = identify(png_header(1080, 1350), 10_000, complete=False)
    assert (inspection.outcome, inspection.mime_type, inspection.width, inspection.height) == (
        InspectionOutcome.READ, "image/png", 1080, 1350,
    )


def test_a_whole_file_with_a_known_signature_but_a_broken_header_is_a_damaged_file() -> None:
    inspection = identify(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, None, complete=True)
    assert inspection.outcome == InspectionOutcome.NOT_MEDIA
    assert inspection.detail.startswith("a damaged PNG file (")  # the exception's name follows, for the operator


@pytest.mark.parametrize(
    ("head", "mime_type"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00", "image/avif"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x01\x00\x00\x00", "video/webm"),
    ],
)
def test_containers_are_known_by_their_signature(head: bytes, mime_type: str) -> None:
    inspection = identify(head, 1_000_000, complete=False)
    assert (inspection.outcome, inspection.mime_type) == (InspectionOutcome.READ, mime_type)


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"  <!DOCTYPE html><html><body>Not found</body></html>", "an HTML page"),
        (b"<html><head></head></html>", "an HTML page"),
        (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "an XML or HTML document"),
        (b'{"error": "not found"}', "JSON or other text"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"just some words\r\nand a line\n", "text"),
        (b"\x00\x01\x02\x03\xfe\xff" * 8, "not a format this service reads"),
    ],
)
def test_what_is_not_media_is_named_for_the_error(data: bytes, detail: str) -> None:
    inspection = identify(data, None, complete=True)
    assert (inspection.outcome, inspection.detail) == (InspectionOutcome.NOT_MEDIA, detail)


def test_an_empty_file_is_not_media() -> None:
    inspection = identify(b"", 0, complete=True)
    assert (inspection.outcome, inspection.detail) == (InspectionOutcome.NOT_MEDIA, "the file is empty")
