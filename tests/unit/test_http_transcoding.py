"""How the HTTP gateway reads a request (server/http_gateway/transcode.py): query strings
typed by the request's fields, JSON bodies, nested options with the spec's enum spellings,
and a 400 naming the parameter for what cannot be read. Pure: descriptors, no socket (the
same over a socket: tests/api/test_http_gateway.py)."""

from __future__ import annotations

import pytest
from distribution.v1 import account_service_pb2, publish_pb2, publishing_service_pb2

from server.http_gateway.transcode import BadRequest, parse_body, query_fields, to_message

LIST_ACCOUNTS = account_service_pb2.ListAccountsRequest.DESCRIPTOR
WATCH = publishing_service_pb2.WatchPublishesRequest.DESCRIPTOR


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("FALSE", False), ("0", False)])
def test_a_boolean_query_parameter_takes_true_or_false(text: str, value: bool) -> None:
    assert query_fields([("show_disconnected", text)], LIST_ACCOUNTS) == {"showDisconnected": value}


def test_a_boolean_query_parameter_that_is_neither_is_a_400_naming_it() -> None:
    with pytest.raises(BadRequest) as caught:
        query_fields([("showDisconnected", "maybe")], LIST_ACCOUNTS)
    assert caught.value.message == "Query parameter showDisconnected='maybe' must be true or false"
    assert caught.value.field == "showDisconnected"


def test_a_repeated_field_is_given_by_repeating_its_parameter() -> None:
    data = query_fields([("states", "processing"), ("platform", "tiktok"), ("states", "FAILED")], WATCH)
    assert data == {"states": ["processing", "FAILED"], "platform": "tiktok"}
    request = to_message(data, publishing_service_pb2.WatchPublishesRequest, {})
    assert [publish_pb2.PublishState.Name(s) for s in request.states] == [
        "PUBLISH_STATE_PROCESSING", "PUBLISH_STATE_FAILED",
    ]


def test_a_message_field_cannot_be_given_in_the_query() -> None:
    descriptor = publishing_service_pb2.PublishInstagramCarouselRequest.DESCRIPTOR
    with pytest.raises(BadRequest) as caught:
        query_fields([("images", "x")], descriptor)
    assert (caught.value.message, caught.value.field) == (
        "Query parameter images names a message; send it in a JSON body", "images",
    )


def test_an_empty_body_is_an_empty_request() -> None:
    assert parse_body(b"") == {}
    assert parse_body(b" \r\n") == {}


def test_nested_options_are_read_with_their_own_fields() -> None:
    data = {
        "mediaIds": ["m1", "m2"],
        "images": [{"altText": "a dog", "userTags": [{"username": "ann", "x": 0.5, "y": 0.25}]}, {}],
    }
    request = to_message(data, publishing_service_pb2.PublishInstagramCarouselRequest, {})
    assert request.images[0].alt_text == "a dog"
    assert (request.images[0].user_tags[0].username, request.images[0].user_tags[0].x) == ("ann", 0.5)
    assert len(request.images) == 2


def test_an_unknown_field_inside_nested_options_is_a_400_naming_it() -> None:
    data = {"images": [{"altText": "a dog", "colour": "red"}]}
    with pytest.raises(BadRequest) as caught:
        to_message(data, publishing_service_pb2.PublishInstagramCarouselRequest, {})
    assert caught.value.message.startswith("Invalid PublishInstagramCarouselRequest: ")
    assert '"colour"' in caught.value.message


@pytest.mark.parametrize("given", ["2027-01", "2027-01-15T09:30:00", "2027-01-15 09:30:00Z", "tomorrow"])
def test_a_time_without_its_zone_is_a_400_naming_the_field_and_the_form(given: str) -> None:
    with pytest.raises(BadRequest) as caught:
        to_message({"publishTime": given}, publishing_service_pb2.PublishInstagramCarouselRequest, {})
    assert caught.value.field == "publishTime"
    assert caught.value.message == (
        f"publishTime {given!r} is not an RFC 3339 timestamp: give the date, the time and the zone, "
        "e.g. 2027-01-15T09:30:00Z (UTC) or 2027-01-15T10:30:00+01:00"
    )
    assert "does not match format" not in caught.value.message


@pytest.mark.parametrize("given", ["2027-01-15T09:30:00Z", "2027-01-15T10:30:00.25+01:00"])
def test_a_time_with_its_zone_is_read(given: str) -> None:
    request = to_message({"publish_time": given}, publishing_service_pb2.PublishInstagramCarouselRequest, {})
    assert request.publish_time.ToJsonString().startswith("2027-01-15T09:30:00")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[" * 100_000, "nested deeper than 32"),
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than 32"),
        (b'{"a": ' + b"1" * 41 + b"}", "number of 41 characters"),
        (b'{"a": 1.' + b"5" * 40 + b"}", "number of 42 characters"),
    ],
)
def test_a_body_nested_too_deep_or_holding_a_number_too_long_is_a_400_saying_so(body: bytes, says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        parse_body(body)


def test_a_body_within_the_limits_is_read() -> None:
    assert parse_body(b'{"a": ' + b"[" * 31 + b"9" * 40 + b"]" * 31 + b"}")["a"][0][0]
    assert parse_body(b'{"coverIndex": -9223372036854775808, "x": 1.7976931348623157e308}')["coverIndex"] < 0
