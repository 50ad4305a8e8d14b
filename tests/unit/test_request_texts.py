"""The text rule where requests enter (server/grpc_api/interceptors/decoding.py): every string
field of a request message at any depth, each named as the domain names fields."""

from __future__ import annotations

import pytest
from distribution.v1 import publish_pb2, publishing_service_pb2, webhook_service_pb2

from server.domain.errors import InvalidArgument
from server.grpc_api.interceptors.decoding import _check_texts, message_texts


def test_every_string_of_a_request_is_found_with_its_path() -> None:
    request = publishing_service_pb2.PublishInstagramCarouselRequest(
        media_ids=["m0", "m1"], instagram_account_id="a", caption="c", collaborators=["x"],
        images=[publish_pb2.InstagramImageOptions(alt_text="t", user_tags=[publish_pb2.UserTag(username="u")])],
    )
    assert dict(message_texts(request)) == {
        "media_ids[0]": "m0", "media_ids[1]": "m1", "instagram_account_id": "a", "caption": "c",
        "collaborators[0]": "x", "images[0].alt_text": "t", "images[0].user_tags[0].username": "u",
    }


def test_a_request_holding_nul_is_refused_naming_every_field() -> None:
    request = webhook_service_pb2.CreateWebhookRequest(url="https://h.example/\x00", description="d\x00")
    with pytest.raises(InvalidArgument) as caught:
        _check_texts(request)
    assert [v.field for v in caught.value.field_violations] == ["url", "description"]
    _check_texts(webhook_service_pb2.CreateWebhookRequest(url="https://h.example/", description="fine"))
