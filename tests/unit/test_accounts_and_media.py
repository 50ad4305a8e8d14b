"""Connected accounts and registered media (server/services/accounts.py, media.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from server.domain.commands import ConnectRequest, MediaDraft
from server.domain.errors import InvalidArgument, NotFound
from server.domain.models import AccountState, Credentials, MediaKind, Platform, Storage
from tests.unit.conftest import World


def connect_request(**fields: object) -> ConnectRequest:
    values: dict[str, object] = {
        "platform": Platform.INSTAGRAM, "external_account_id": "17841400000000001", "username": "demo",
        "access_token": "token", "refresh_token": "", "access_token_expires_at": None,
        "refresh_token_expires_at": None,
    }
    values.update(fields)
    return ConnectRequest(**values)  # type: ignore[arg-type]


async def test_connect_then_reconnect_keeps_the_id_and_takes_the_new_tokens(world: World) -> None:
    accounts = world.services.accounts
    first = await accounts.connect(world.workspace, connect_request(refresh_token="r1"))
    assert (first.state, first.has_refresh_token) == (AccountState.ACTIVE, True)
    again = await accounts.connect(world.workspace, connect_request(access_token="t2", username="renamed"))
    assert (again.id, again.username, again.has_refresh_token) == (first.id, "renamed", False)
    assert await world.store.accounts.credentials(first.id) == Credentials("t2", None)
    assert "token" not in repr(connect_request())


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"platform": None}, ["platform"]),
        ({"external_account_id": ""}, ["external_account_id"]),
        ({"external_account_id": "has space"}, ["external_account_id"]),
        ({"external_account_id": "x" * 65}, ["external_account_id"]),
        ({"external_account_id": "not-digits"}, ["external_account_id"]),
        ({"username": "tab\there"}, ["username"]),
        ({"access_token": ""}, ["access_token"]),
        ({"access_token": "é"}, ["access_token"]),
        ({"refresh_token": "x" * 4097}, ["refresh_token"]),
        ({"platform": None, "access_token": "", "username": "\x00"}, ["platform", "username", "access_token"]),
    ],
)
async def test_connect_names_every_bad_field(world: World, fields: dict[str, object], violations: list[str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.services.accounts.connect(world.workspace, connect_request(**fields))
    assert [v.field for v in caught.value.field_violations] == violations
    assert world.store.accounts.rows == {}


async def test_a_tiktok_open_id_need_not_be_numeric(world: World) -> None:
    account = await world.services.accounts.connect(
        world.workspace, connect_request(platform=Platform.TIKTOK, external_account_id="open-id_1")
    )
    assert account.platform == Platform.TIKTOK


async def test_get_disconnect_and_their_errors(world: World) -> None:
    accounts = world.services.accounts
    account = await accounts.connect(world.workspace, connect_request())
    assert await accounts.get(world.workspace, account.id.upper()) == account
    with pytest.raises(InvalidArgument):
        await accounts.get(world.workspace, "nope", field="instagram_account_id")
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        await accounts.get(world.workspace, unknown, field="tiktok_account_id")
    assert caught.value.metadata == {"account_id": unknown, "field": "tiktok_account_id"}
    gone = await accounts.disconnect(world.workspace, account.id)
    assert gone.state == AccountState.DISCONNECTED
    assert await world.store.accounts.credentials(account.id) is None
    with pytest.raises(NotFound):
        await accounts.disconnect(world.workspace, unknown)
    with pytest.raises(NotFound):
        await accounts.disconnect("other-workspace", account.id)
    with pytest.raises(InvalidArgument):
        await accounts.disconnect(world.workspace, "")


async def test_accounts_are_listed_newest_first_in_pages_with_filters(world: World) -> None:
    accounts = world.services.accounts
    made = []
    for i in range(3):
        made.append(await accounts.connect(world.workspace, connect_request(external_account_id=str(i))))
        world.clock.advance(1)
    tiktok = await accounts.connect(world.workspace, connect_request(platform=Platform.TIKTOK,
                                                                      external_account_id="oid"))
    await accounts.disconnect(world.workspace, made[0].id)
    page = await accounts.list_page(world.workspace, 2, "", None, False)
    assert [a.id for a in page.items] == [tiktok.id, made[2].id]
    rest = await accounts.list_page(world.workspace, 2, page.next_page_token, None, False)
    assert ([a.id for a in rest.items], rest.next_page_token) == ([made[1].id], "")
    with_gone = await accounts.list_page(world.workspace, 0, "", Platform.INSTAGRAM, True)
    assert [a.id for a in with_gone.items] == [made[2].id, made[1].id, made[0].id]
    with pytest.raises(InvalidArgument):
        await accounts.list_page(world.workspace, 2, page.next_page_token, Platform.TIKTOK, False)


@pytest.mark.parametrize(
    ("url", "mime_type", "kind", "storage"),
    [
        ("gs://bucket/a.jpg", "image/jpeg", MediaKind.IMAGE, Storage.GCS),
        ("https://storage.googleapis.com/bucket/a.webp", "image/webp", MediaKind.IMAGE, Storage.GCS),
        ("s3://bucket/clip.mp4", "video/mp4", MediaKind.VIDEO, Storage.S3),
        ("https://bucket.s3.eu-west-1.amazonaws.com/a.png", "image/png", MediaKind.IMAGE, Storage.S3),
        ("https://cdn.example.com/a.JPEG", "image/jpeg", MediaKind.IMAGE, Storage.OTHER),
    ],
)
async def test_register_infers_type_kind_and_storage(
    world: World, url: str, mime_type: str, kind: MediaKind, storage: Storage
) -> None:
    media = await world.services.media.register(world.workspace, MediaDraft(url=url))
    assert (media.mime_type, media.kind, media.storage) == (mime_type, kind, storage)
    assert media.created_at == world.clock.now()
    assert await world.services.media.get(world.workspace, media.id.upper()) == media


@pytest.mark.parametrize(
    ("draft", "fields"),
    [
        (MediaDraft(url=""), ["url"]),
        (MediaDraft(url="ftp://host/a.jpg"), ["url"]),
        (MediaDraft(url="https://user:pw@host/a.jpg"), ["url"]),
        (MediaDraft(url="gs://bucket/"), ["url"]),
        (MediaDraft(url="https://host/" + "a" * 2048 + ".jpg"), ["url"]),
        (MediaDraft(url="https://host/a b.jpg"), ["url"]),
        (MediaDraft(url="https://host:99999/a.jpg"), ["url"]),
        (MediaDraft(url="https:///a.jpg"), ["url"]),
        (MediaDraft(url="https://host/a.jpg", mime_type="imagejpeg"), ["mime_type"]),
        (MediaDraft(url="https://host/noext"), ["url"]),  # only a URL sent: its extension is the problem
        (MediaDraft(url="https://host/notes.txt"), ["url"]),
        (MediaDraft(url="https://host/a.jpg", mime_type="text/plain"), ["mime_type"]),
        (MediaDraft(url="https://host/a.jpg", kind=MediaKind.VIDEO), ["kind"]),
        (MediaDraft(url="https://host/a.jpg", width=-1, size_bytes=-2), ["width", "size_bytes"]),
    ],
)
async def test_register_names_every_bad_field(world: World, draft: MediaDraft, fields: list[str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.services.media.register(world.workspace, draft)
    assert [v.field for v in caught.value.field_violations] == fields
    assert world.store.media.rows == {}


async def test_media_get_and_list(world: World) -> None:
    library = world.services.media
    made = []
    for i in range(3):
        made.append(await library.register(world.workspace, MediaDraft(url=f"gs://b/{i}.jpg")))
        world.clock.advance(timedelta(seconds=1).total_seconds())
    page = await library.list_page(world.workspace, 2, "")
    assert [m.id for m in page.items] == [made[2].id, made[1].id]
    rest = await library.list_page(world.workspace, 2, page.next_page_token)
    assert ([m.id for m in rest.items], rest.next_page_token) == ([made[0].id], "")
    with pytest.raises(NotFound) as caught:
        await library.get("other-workspace", made[0].id)
    assert caught.value.reason == "MEDIA_NOT_FOUND"
    with pytest.raises(InvalidArgument):
        await library.get(world.workspace, "x")


@pytest.mark.parametrize(
    ("draft", "violation"),
    [
        (MediaDraft(url="https://host/photo"),
         ("url", "has no extension that names a media type (e.g. .jpg); add one or set mime_type, e.g. image/jpeg")),
        (MediaDraft(url="https://host/notes.txt"),
         ("url", "names a text/plain file by its extension, not an image or a video; set mime_type if it is one")),
        (MediaDraft(url="https://host/notes.txt", mime_type="text/plain"),
         ("mime_type", "must be an image/* or video/* type; got text/plain")),
        (MediaDraft(url="https://host/a.jpg", kind=MediaKind.VIDEO),
         ("kind", "is VIDEO, but the URL's extension gives image/jpeg, which is IMAGE; leave kind unset to infer it")),
    ],
)
async def test_a_type_problem_names_the_field_the_caller_sent(
    world: World, draft: MediaDraft, violation: tuple[str, str]
) -> None:
    """Only a URL sent: the problem is the URL's, never a mime_type the caller did not send."""
    with pytest.raises(InvalidArgument) as caught:
        await world.services.media.register(world.workspace, draft)
    assert [(v.field, v.description) for v in caught.value.field_violations] == [violation]
