"""Media rules: which URLs may be registered, what a URL tells about its media, the public
form a platform fetches, and what an inspection of the bytes changes (the bytes, once read,
decide the type and size over what the URL's extension suggests)."""

from __future__ import annotations

import dataclasses
import mimetypes
import posixpath
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from server.domain.commands import MediaDraft
from server.domain.errors import FieldViolation, invalid
from server.domain.limits import MAX_URL_LENGTH
from server.domain.models import (
    Inspection,
    Media,
    MediaKind,
    Storage,
    VideoFacts,  # noqa: F401  (defined beside Media, which holds it; named with the media rules)
)

ALLOWED_SCHEMES = ("https", "gs", "s3")

# Extensions we infer from, beyond what `mimetypes` knows on every platform.
_EXTRA_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
}


def infer_storage(url: str) -> Storage:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "gs" or host == "storage.googleapis.com" or host.endswith(".storage.googleapis.com"):
        return Storage.GCS
    if parts.scheme == "s3" or _is_s3_host(host):
        return Storage.S3
    return Storage.OTHER


def _is_s3_host(host: str) -> bool:
    # bucket.s3.amazonaws.com, s3.amazonaws.com, s3.eu-west-1.amazonaws.com,
    # bucket.s3.eu-west-1.amazonaws.com, bucket.s3-eu-west-1.amazonaws.com
    if not host.endswith(".amazonaws.com"):
        return False
    labels = host.split(".")
    return any(label == "s3" or label.startswith("s3-") for label in labels)


def infer_mime_type(url: str) -> str:
    path = unquote(urlsplit(url).path)
    ext = posixpath.splitext(path)[1].lower()
    return _EXTRA_TYPES.get(ext) or mimetypes.types_map.get(ext, "")


def kind_of(mime_type: str) -> MediaKind | None:
    major = mime_type.split("/", 1)[0]
    return {"image": MediaKind.IMAGE, "video": MediaKind.VIDEO}.get(major)


def public_url(media: Media) -> str:
    """The https URL a platform fetches the media from (gs:// and s3:// mapped to their hosts)."""
    return public_form(media.url)


def public_form(url: str) -> str:
    """The https form of a registered URL (gs:// and s3:// mapped to their public hosts)."""
    parts = urlsplit(url)
    if parts.scheme == "gs":
        return f"https://storage.googleapis.com/{parts.netloc}{parts.path}"
    if parts.scheme == "s3":
        return f"https://{parts.netloc}.s3.amazonaws.com{parts.path}"
    return url


def url_violations(url: str, field: str = "url") -> list[FieldViolation]:
    """Why `url` may not be given as a media URL (named `field`); [] when it may."""
    if not url:
        return [FieldViolation(field, "is required")]
    if len(url) > MAX_URL_LENGTH:
        return [FieldViolation(field, f"must be at most {MAX_URL_LENGTH} characters; got {len(url)}")]
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return [FieldViolation(field, "must not contain spaces or control characters; percent-encode them (%20)")]
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return [FieldViolation(field, "is not a valid URL (its host or port cannot be read)")]
    if parts.scheme not in ALLOWED_SCHEMES:
        scheme = f"'{parts.scheme[:32]}'" if parts.scheme else "none"
        return [FieldViolation(
            field, f"must be an https, gs or s3 URL, e.g. gs://bucket/photo.jpg; got scheme {scheme}"
        )]
    if parts.username is not None or parts.password is not None:
        return [FieldViolation(
            field, "must not contain credentials (user:password@); give a URL the platform can fetch without them"
        )]
    if not parts.hostname:
        return [FieldViolation(field, "must name a host (or bucket), e.g. https://example.com/photo.jpg")]
    if parts.scheme in ("gs", "s3") and parts.path in ("", "/"):
        example = f"{parts.scheme}://{parts.hostname}/photo.jpg"
        return [FieldViolation(field, f"must name an object in the bucket, e.g. {example}")]
    return []


# Media types are short (image/jpeg); a longer one is refused, and echoed only in part.
MAX_MIME_TYPE_LENGTH = 100


def check_url(url: str) -> None:
    """Refuses a URL that may not be registered (INVALID_ARGUMENT naming `url`), before
    anything fetches it."""
    violations = url_violations(url)
    if violations:
        raise invalid(violations)


def build_media(
    media_id: str, workspace_id: str, draft: MediaDraft, created_at: datetime, inspection: Inspection | None = None
) -> Media:
    """Validates a registration and fills in what was omitted: from the inspected bytes when
    they were read, else from the draft, else from the URL. Raises InvalidArgument."""
    violations = url_violations(draft.url)
    if violations:
        raise invalid(violations)
    read = inspection if inspection is not None and inspection.ok else None
    given = draft.mime_type.strip().lower()
    mime_type = (read.mime_type if read else "") or given or infer_mime_type(draft.url)
    # A type the caller did not send is the URL's doing (its bytes or its extension): a
    # problem with it names `url`, the field the caller can change.
    type_field = "mime_type" if given and not (read and read.mime_type) else "url"
    for name, value in (("width", draft.width), ("height", draft.height), ("size_bytes", draft.size_bytes)):
        if value < 0:
            violations.append(FieldViolation(name, f"must not be negative; got {value}"))
    malformed = next((m for m in (given, mime_type) if m and ("/" not in m or len(m) > MAX_MIME_TYPE_LENGTH)), "")
    if not mime_type:
        violations.append(
            FieldViolation(
                "url", "has no extension that names a media type (e.g. .jpg); add one or set mime_type, e.g. image/jpeg"
            )
        )
    elif malformed:
        # Echoed only in part: a status carrying a huge value would not fit grpc's metadata.
        shown = malformed if len(malformed) <= MAX_MIME_TYPE_LENGTH else malformed[:MAX_MIME_TYPE_LENGTH] + "..."
        violations.append(FieldViolation("mime_type", f"must be a media type such as image/jpeg; got {shown!r}"))
        raise invalid(violations)
    inferred_kind = kind_of(mime_type) if mime_type else None
    kind = draft.kind or inferred_kind
    if mime_type and inferred_kind is None:
        if type_field == "mime_type":
            problem = f"must be an image/* or video/* type; got {mime_type}"
        elif read and read.mime_type:
            problem = f"points at {mime_type} bytes, not an image or a video"
        else:
            problem = f"names a {mime_type} file by its extension, not an image or a video; set mime_type if it is one"
        violations.append(FieldViolation(type_field, problem))
    elif draft.kind and inferred_kind and draft.kind != inferred_kind:
        if read and read.mime_type:
            source = "the bytes are"
        else:
            source = "mime_type is" if type_field == "mime_type" else "the URL's extension gives"
        violations.append(
            FieldViolation(
                "kind",
                f"is {draft.kind.value}, but {source} {mime_type}, which is {inferred_kind.value}; "
                "leave kind unset to infer it",
            )
        )
    if violations:
        raise invalid(violations)
    assert kind is not None
    return Media(
        id=media_id,
        workspace_id=workspace_id,
        url=draft.url,
        mime_type=mime_type,
        kind=kind,
        storage=draft.storage or infer_storage(draft.url),
        width=(read.width if read and read.width else draft.width),
        height=(read.height if read and read.height else draft.height),
        size_bytes=(read.size_bytes if read and read.size_bytes else draft.size_bytes),
        created_at=created_at,
        inspection=inspection,
        video=read.video if read else None,
    )


def with_inspection(media: Media, inspection: Inspection) -> Media:
    """The media after a new inspection: what the bytes showed replaces what was known; a
    failed inspection is recorded and changes nothing else."""
    if not inspection.ok:
        return dataclasses.replace(media, inspection=inspection)
    kind = kind_of(inspection.mime_type) if inspection.mime_type else None
    return dataclasses.replace(
        media,
        mime_type=inspection.mime_type or media.mime_type,
        kind=kind or media.kind,
        width=inspection.width or media.width,
        height=inspection.height or media.height,
        size_bytes=inspection.size_bytes or media.size_bytes,
        inspection=inspection,
        # Bytes that read as an image now leave no video facts behind.
        video=inspection.video if (kind or media.kind) == MediaKind.VIDEO else None,
    )


def inspection_due(media: Media, now: datetime, max_age: timedelta) -> bool:
    """Whether the media must be inspected (again) before it is published: never inspected,
    or inspected longer than `max_age` ago."""
    inspection = media.inspection
    if inspection is None or inspection.inspected_at is None:
        return True
    return now - inspection.inspected_at > max_age
