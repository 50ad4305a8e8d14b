"""MediaService over a real in-process server: registration rules, inference, get, list."""

from __future__ import annotations

import uuid

import grpc
import pytest
from distribution.v1 import media_pb2
from distribution.v1.account_service_pb2 import ListAccountsRequest
from distribution.v1.media_service_pb2 import GetMediaRequest, ListMediaRequest, RegisterMediaRequest

from tests.support.client import connect
from tests.support.errors import rich_error

IMAGE, VIDEO = media_pb2.MEDIA_KIND_IMAGE, media_pb2.MEDIA_KIND_VIDEO
GCS, S3, OTHER = media_pb2.STORAGE_GCS, media_pb2.STORAGE_S3, media_pb2.STORAGE_OTHER
UNKNOWN_ID = "9b2f8c1e-0000-4000-8000-000000000000"


async def register_one(media, **fields) -> media_pb2.Media:
    return (await media.RegisterMedia(RegisterMediaRequest(**fields))).media


async def expect_error(call, request, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(request)
    assert info.value.code() == code, info.value.details()
    return rich_error(info.value)


async def list_all(media, page_size: int) -> tuple[list[str], list[int]]:
    ids: list[str] = []
    sizes: list[int] = []
    token = ""
    for _ in range(50):
        page = await media.ListMedia(ListMediaRequest(page_size=page_size, page_token=token))
        ids += [m.id for m in page.media]
        sizes.append(len(page.media))
        token = page.next_page_token
        if not token:
            return ids, sizes
    raise AssertionError("pagination never ended")


# --- inference ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, mime_type, kind, storage",
    [
        ("gs://b/x.jpg", "image/jpeg", IMAGE, GCS),
        ("https://storage.googleapis.com/b/x.webp", "image/webp", IMAGE, GCS),
        ("https://b.storage.googleapis.com/x.png", "image/png", IMAGE, GCS),
        ("s3://b/x.jpeg", "image/jpeg", IMAGE, S3),
        ("https://b.s3.amazonaws.com/x.jpg", "image/jpeg", IMAGE, S3),
        ("https://b.s3.eu-west-1.amazonaws.com/x.jpg", "image/jpeg", IMAGE, S3),
        ("https://s3.amazonaws.com/b/x.jpg", "image/jpeg", IMAGE, S3),
        ("https://cdn.example.com/x.mp4", "video/mp4", VIDEO, OTHER),
        ("https://cdn.example.com/x.MOV", "video/quicktime", VIDEO, OTHER),
    ],
)
async def test_register_infers_type_kind_and_storage(media, url, mime_type, kind, storage):
    registered = await register_one(media, url=url)
    assert str(uuid.UUID(registered.id)) == registered.id
    assert registered.url == url
    assert registered.mime_type == mime_type
    assert registered.kind == kind
    assert registered.storage == storage
    assert (registered.width, registered.height, registered.size_bytes) == (0, 0, 0)
    assert registered.HasField("create_time") and registered.create_time.seconds > 0


async def test_explicit_mime_type_makes_an_extensionless_url_registrable(media):
    registered = await register_one(media, url="https://cdn.example.com/media/123", mime_type="image/png")
    assert registered.mime_type == "image/png"
    assert registered.kind == IMAGE
    assert registered.storage == OTHER


async def test_explicit_mime_type_wins_over_the_extension(media):
    registered = await register_one(media, url="https://cdn.example.com/x.png", mime_type="image/jpeg")
    assert registered.mime_type == "image/jpeg"


@pytest.mark.parametrize(
    "url, storage",
    [("https://cdn.example.com/x.jpg", GCS), ("gs://b/x.jpg", OTHER), ("https://b.s3.amazonaws.com/x.jpg", GCS)],
)
async def test_explicit_storage_wins(media, url, storage):
    assert (await register_one(media, url=url, storage=storage)).storage == storage


async def test_explicit_kind_matching_the_type_is_kept(media):
    registered = await register_one(media, url="https://cdn.example.com/clip.webm", kind=VIDEO)
    assert (registered.kind, registered.mime_type) == (VIDEO, "video/webm")


async def test_dimensions_and_size_are_echoed(media):
    registered = await register_one(
        media, url="gs://b/photo.jpg", width=1080, height=1350, size_bytes=5_000_000_000
    )
    assert (registered.width, registered.height, registered.size_bytes) == (1080, 1350, 5_000_000_000)
    fetched = (await media.GetMedia(GetMediaRequest(id=registered.id))).media
    assert fetched == registered


# --- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"url": ""}, "url"),
        ({"url": "http://cdn.example.com/x.jpg"}, "url"),
        ({"url": "ftp://cdn.example.com/x.jpg"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "gs://bucket"}, "url"),
        ({"url": "gs://bucket/"}, "url"),
        ({"url": "s3://bucket"}, "url"),
        ({"url": "https:///x.jpg"}, "url"),
        ({"url": "https://cdn.example.com/media/123"}, "url"),
        ({"url": "https://cdn.example.com/notes", "mime_type": "text/plain"}, "mime_type"),
        ({"url": "https://cdn.example.com/notes.txt"}, "url"),
        ({"url": "https://cdn.example.com/x", "mime_type": "jpeg"}, "mime_type"),
        ({"url": "https://cdn.example.com/x.jpg", "kind": VIDEO}, "kind"),
        ({"url": "https://cdn.example.com/x", "mime_type": "image/jpeg", "kind": VIDEO}, "kind"),
        ({"url": "https://cdn.example.com/x.mp4", "kind": IMAGE}, "kind"),
        ({"url": "gs://b/x.jpg", "width": -1}, "width"),
        ({"url": "gs://b/x.jpg", "height": -5}, "height"),
        ({"url": "gs://b/x.jpg", "size_bytes": -1}, "size_bytes"),
        ({"url": "gs://b/x.jpg", "kind": 9}, "kind"),
        ({"url": "gs://b/x.jpg", "storage": 9}, "storage"),
    ],
)
async def test_register_validation_names_the_field(media, fields, field):
    err = await expect_error(media.RegisterMedia, RegisterMediaRequest(**fields))
    assert field in err.violations, err.violations
    assert err.reason
    assert (await media.ListMedia(ListMediaRequest())).media == []


async def test_non_media_type_is_invalid_even_with_an_explicit_kind(media):
    err = await expect_error(
        media.RegisterMedia,
        RegisterMediaRequest(url="https://cdn.example.com/notes", mime_type="text/plain", kind=IMAGE),
    )
    assert "mime_type" in err.violations


async def test_url_with_credentials_is_refused_without_echoing_them(media):
    url = "https://someuser:hunter2pw@cdn.example.com/x.jpg"
    err = await expect_error(media.RegisterMedia, RegisterMediaRequest(url=url))
    assert set(err.violations) == {"url"}
    assert "credentials" in err.violations["url"]
    everything = " ".join([err.message, *err.violations.values(), *err.metadata.values()])
    assert "hunter2pw" not in everything
    assert "someuser" not in everything


async def test_every_violation_is_reported_at_once(media):
    err = await expect_error(
        media.RegisterMedia, RegisterMediaRequest(url="https://cdn.example.com/blob", width=-1, height=-1)
    )
    assert {"width", "height", "url"} <= set(err.violations)  # only a URL sent: its extension names no type


# --- GetMedia / ListMedia -------------------------------------------------------


async def test_get_unknown_media_is_not_found(media):
    err = await expect_error(media.GetMedia, GetMediaRequest(id=UNKNOWN_ID), grpc.StatusCode.NOT_FOUND)
    assert err.reason == "MEDIA_NOT_FOUND"
    assert err.metadata["media_id"] == UNKNOWN_ID


@pytest.mark.parametrize("bad_id", ["", "x", "9b2f8c1e000040008000000000000000"])
async def test_get_malformed_id_is_invalid(media, bad_id):
    err = await expect_error(media.GetMedia, GetMediaRequest(id=bad_id))
    assert set(err.violations) == {"id"}


async def test_upper_case_form_of_an_existing_id_finds_it(media):
    # Ids are UUIDs, read case-insensitively (tests/api/test_id_case.py).
    registered = await register_one(media, url="gs://b/x.jpg")
    fetched = (await media.GetMedia(GetMediaRequest(id=registered.id.upper()))).media
    assert fetched.id == registered.id


async def test_list_is_newest_first_and_paginates(media):
    registered = [await register_one(media, url=f"gs://b/photo-{i}.jpg") for i in range(5)]
    newest_first = [m.id for m in reversed(registered)]

    page = await media.ListMedia(ListMediaRequest())
    assert [m.id for m in page.media] == newest_first
    assert page.next_page_token == ""
    assert page.media[0] == registered[-1]

    ids, sizes = await list_all(media, 2)
    assert ids == newest_first
    assert sizes == [2, 2, 1]


async def test_list_pagination_is_stable_while_media_arrive(media):
    older = [await register_one(media, url=f"gs://b/photo-{i}.jpg") for i in range(5)]
    first = await media.ListMedia(ListMediaRequest(page_size=2))
    newcomer = await register_one(media, url="gs://b/new.jpg")
    seen = [m.id for m in first.media]
    token = first.next_page_token
    while token:
        page = await media.ListMedia(ListMediaRequest(page_size=2, page_token=token))
        seen += [m.id for m in page.media]
        token = page.next_page_token
    assert seen == [m.id for m in reversed(older)]
    assert newcomer.id not in seen


@pytest.mark.parametrize("token", ["garbage", "%%%", "bm90LWpzb24"])
async def test_list_garbage_page_token_is_invalid(media, token):
    await register_one(media, url="gs://b/x.jpg")
    err = await expect_error(media.ListMedia, ListMediaRequest(page_token=token))
    assert set(err.violations) == {"page_token"}


async def test_list_rejects_a_token_from_another_list(media, accounts):
    for i in range(2):
        await connect(accounts, external_account_id=f"1784140000000000{i}")
        await register_one(media, url=f"gs://b/x{i}.jpg")
    token = (await accounts.ListAccounts(ListAccountsRequest(page_size=1))).next_page_token
    assert token
    err = await expect_error(media.ListMedia, ListMediaRequest(page_size=1, page_token=token))
    assert set(err.violations) == {"page_token"}


async def test_list_negative_page_size_is_invalid(media):
    err = await expect_error(media.ListMedia, ListMediaRequest(page_size=-3))
    assert set(err.violations) == {"page_size"}
