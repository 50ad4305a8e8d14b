"""The OpenAPI document generated from the contract (scripts/openapi.py, written by `make
generate`): valid OpenAPI, one operation per annotated RPC, fresh with the contract."""

from __future__ import annotations

import json

from google.protobuf import descriptor_pool
from openapi_spec_validator import validate

from server.domain.limits import INSTAGRAM, TIKTOK
from server.grpc_api.server import SERVICE_NAMES
from server.http_gateway import OPENAPI_FILE
from server.http_gateway.routes import routes_for

# Every service the server registers (a new one is covered without editing this test).
SERVICES = [descriptor_pool.Default().FindServiceByName(name) for name in SERVICE_NAMES]


def document() -> dict:
    return json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))


def test_the_document_validates_as_openapi():
    validate(document())


def test_every_annotated_rpc_is_an_operation_with_its_path_and_verb():
    paths = document()["paths"]
    routes = routes_for(SERVICES)
    assert routes
    for route in routes:
        operation = paths[route.template][route.verb.lower()]
        service, method = route.method.strip("/").split("/")
        assert operation["operationId"] == f"{service.rsplit('.', 1)[1]}_{method}"
    operations = sum(len(verbs) for verbs in paths.values())
    assert operations == len(routes)


def test_the_spec_fields_and_spellings_are_in_the_schemas():
    schemas = document()["components"]["schemas"]
    request = schemas["distribution.v1.PublishTikTokCarouselRequest"]["properties"]
    assert {"mediaIds", "tiktokAccountId", "caption", "privacyLevel", "postMode", "coverIndex"} <= set(request)
    privacy_levels = set(schemas["distribution.v1.PrivacyLevel"]["enum"])
    assert {"PUBLIC_TO_EVERYONE", "PRIVACY_LEVEL_PUBLIC_TO_EVERYONE"} <= privacy_levels
    response = schemas["distribution.v1.PublishInstagramCarouselResponse"]["properties"]
    assert {"instagramPublishId", "igMediaId", "permalink", "imageCount"} <= set(response)


def test_query_parameters_of_history_and_the_watch_stream():
    paths = document()["paths"]
    names = {p["name"] for p in paths["/api/v1/publishes"]["get"]["parameters"]}
    assert {"pageSize", "pageToken", "accountId", "platform", "state", "createTimeAfter", "createTimeBefore"} <= names
    watch = paths["/api/v1/publishes/{id}:watch"]["get"]["responses"]["200"]["content"]
    assert {"application/x-ndjson", "text/event-stream"} <= set(watch)


def test_the_document_states_the_constraints_the_service_checks_with_the_domain_s_numbers():
    schemas = document()["components"]["schemas"]
    instagram = schemas["distribution.v1.PublishInstagramCarouselRequest"]
    tiktok = schemas["distribution.v1.PublishTikTokCarouselRequest"]
    assert instagram["required"] == ["mediaIds", "instagramAccountId"]  # the spec's "Required: Yes"
    assert tiktok["required"] == ["mediaIds", "tiktokAccountId"]
    for schema, limits in ((instagram, INSTAGRAM), (tiktok, TIKTOK)):
        media_ids = schema["properties"]["mediaIds"]
        assert (media_ids["minItems"], media_ids["maxItems"]) == (limits.min_items, limits.max_items)
        assert media_ids["items"]["format"] == "uuid"
    assert instagram["properties"]["caption"]["maxLength"] == INSTAGRAM.caption_max_chars
    assert tiktok["properties"]["caption"]["maxLength"] == TIKTOK.caption_max_chars
    assert tiktok["properties"]["coverIndex"]["maximum"] == TIKTOK.max_items - 1
    for account in (instagram["properties"]["instagramAccountId"], tiktok["properties"]["tiktokAccountId"]):
        assert account["format"] == "uuid"
    # The spec's spellings of the enums, in its own letter case too.
    assert {"SELF_ONLY", "PUBLIC_TO_EVERYONE"} <= set(schemas["distribution.v1.PrivacyLevel"]["enum"])
    assert {"direct", "inbox", "POST_MODE_DIRECT"} <= set(schemas["distribution.v1.PostMode"]["enum"])
    # Every path id is a UUID; every "Required." field of the contract is required.
    for template, item in document()["paths"].items():
        for operation in item.values():
            for parameter in operation["parameters"]:
                if parameter["in"] == "path":
                    assert parameter["schema"]["format"] == "uuid", (template, parameter)
    assert schemas["distribution.v1.ConnectAccountRequest"]["required"] == ["platform", "externalAccountId",
                                                                            "accessToken"]
    # google.protobuf.Struct is printed as a plain JSON object (a timeline event's details).
    assert schemas["distribution.v1.PublishEvent"]["properties"]["details"]["additionalProperties"] is True
