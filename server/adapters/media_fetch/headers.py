"""What a file's first bytes are: format and pixel size from its header, never decoding the
image. Pillow's `Image.open` reads the header of the raster formats it knows (limited here to
the common ones); WebP's header is read here because Pillow's WebP plugin hands the whole
file to libwebp; a few video containers are recognised by their signature."""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, UnidentifiedImageError

from server.domain.models import Inspection, InspectionOutcome

# What Image.open may try: the raster formats media URLs carry, no exotic plugins. (Their
# plugins are registered once, here: `formats=` only picks among registered ones.)
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "TIFF", "BMP")  # JPEG also answers MPO
Image.init()

_SIGNATURES = (  # formats whose header Pillow cannot read from a prefix
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
                b"mif1": "image/heif", b"msf1": "image/heif", b"avif": "image/avif", b"avis": "image/avif"}


def identify(prefix: bytes, total_size: int | None, complete: bool) -> Inspection:
    """The inspection of a file from its first bytes. `total_size` is the size the host
    stated (None if it did not); `complete` says `prefix` is the whole file."""
    size = total_size if total_size is not None else (len(prefix) if complete else 0)
    digest = hashlib.sha256(prefix).hexdigest() if complete else ""

    def read(mime_type: str, width: int = 0, height: int = 0) -> Inspection:
        return Inspection(InspectionOutcome.READ, mime_type, width, height, size, digest)

    if not prefix:
        return Inspection(InspectionOutcome.NOT_MEDIA, size_bytes=size, sha256=digest, detail="the file is empty")
    container = _container(prefix)
    if container is not None:
        return read(container)
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":
        dimensions = _webp_size(prefix)
        if dimensions is not None:
            return read("image/webp", *dimensions)
        if not complete and len(prefix) < 30:
            return _too_large(prefix, size, digest)
        return Inspection(InspectionOutcome.NOT_MEDIA, size_bytes=size, sha256=digest,
                          detail="a WebP file whose header cannot be read")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(prefix), formats=PILLOW_FORMATS) as image:
                fmt = image.format or ""
                width, height = image.size
                mime_type = Image.MIME.get(fmt, "") or image.get_format_mimetype() or ""
    except Image.DecompressionBombError:
        return Inspection(InspectionOutcome.TOO_LARGE, size_bytes=size, sha256=digest,
                          detail=f"an image of more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as exc:
        known = next((name for sig, name in _SIGNATURES if prefix.startswith(sig)), None)
        if known is not None and not complete:
            return _too_large(prefix, size, digest, known)
        what = f"a damaged {known} file" if known else _describe(prefix)
        detail = f"{what} ({type(exc).__name__})" if known else what
        return Inspection(InspectionOutcome.NOT_MEDIA, size_bytes=size, sha256=digest, detail=detail)
    return read(mime_type, width, height)


def _too_large(prefix: bytes, size: int, digest: str, known: str = "WebP") -> Inspection:
    return Inspection(
        InspectionOutcome.TOO_LARGE, size_bytes=size, sha256=digest,
        detail=f"a {known} file whose header is not within the first {len(prefix):,} bytes",
    )


def _container(prefix: bytes) -> str | None:
    """The media type of an ISO-BMFF (MP4, MOV, HEIF, AVIF), Matroska/WebM or AVI file."""
    if prefix[4:8] == b"ftyp" and len(prefix) >= 12:
        brand = prefix[8:12]
        if brand in _HEIF_BRANDS:
            return _HEIF_BRANDS[brand]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if prefix.startswith(b"\x1a\x45\xdf\xa3"):
        # The EBML header's DocType, within its first bytes, tells WebM from other Matroska.
        return "video/x-matroska" if b"matroska" in prefix[:64] else "video/webm"
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


def _webp_size(prefix: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP file's first chunk (VP8X, VP8 or VP8L), per RFC 9649."""
    chunk = prefix[12:16]
    if chunk == b"VP8X" and len(prefix) >= 30:
        return 1 + int.from_bytes(prefix[24:27], "little"), 1 + int.from_bytes(prefix[27:30], "little")
    if chunk == b"VP8 " and len(prefix) >= 30 and prefix[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(prefix[26:28], "little") & 0x3FFF, int.from_bytes(prefix[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(prefix) >= 25 and prefix[20] == 0x2F:
        bits = int.from_bytes(prefix[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _describe(prefix: bytes) -> str:
    head = prefix[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith(b"<"):
        return "an XML or HTML document"
    if head.startswith((b"{", b"[")):
        return "JSON or other text"
    if head.startswith(b"%pdf"):
        return "a PDF document"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in prefix[:256]):
        return "text"
    return "not a format this service reads"
