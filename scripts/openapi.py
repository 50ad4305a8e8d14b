"""The OpenAPI 3 document of the HTTP/JSON API, built from the contract (never by hand).

`scripts/generate.py` compiles proto/ into a FileDescriptorSet (with comments) and calls
`openapi_document`; the result is generated/openapi/distribution.json, which the gateway
serves at /api/v1/openapi.json. Every RPC with a `google.api.http` annotation is a path
operation; its request and response messages are schemas named after the proto messages,
described by their proto comments. JSON follows protobuf's mapping: lowerCamelCase names,
int64 as strings, enums by name (the unprefixed spelling is accepted too), Timestamps as
RFC 3339 strings.

The document states the constraints the service checks, from their one source each: a field
is required where the contract's comment says "Required."; ids are UUIDs, and counts, lengths
and bounds are the domain's own numbers (server/domain/limits.py, REQUEST_CONSTRAINTS below),
so a generated client or a fuzzer driven by this document knows them. Enums list the
contract's names and the unprefixed spellings the spec uses, in upper and lower case.
"""

from __future__ import annotations

from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from server.domain.limits import (
    INSTAGRAM,
    MAX_ID_LENGTH,
    MAX_TOKEN_LENGTH,
    MAX_URL_LENGTH,
    MAX_USERNAME_LENGTH,
    TIKTOK,
)

_F = descriptor_pb2.FieldDescriptorProto
_VERBS = ("get", "put", "post", "delete", "patch")
_SCALARS: dict[int, dict[str, Any]] = {
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "format": "byte"},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    _F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    _F.TYPE_INT64: {"type": "string", "format": "int64"},
    _F.TYPE_SINT64: {"type": "string", "format": "int64"},
    _F.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _F.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _F.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _F.TYPE_FLOAT: {"type": "number", "format": "float"},
    _F.TYPE_DOUBLE: {"type": "number", "format": "double"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    # JSON's own values, as protobuf's JSON mapping prints them.
    ".google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    ".google.protobuf.Value": {},
    ".google.protobuf.ListValue": {"type": "array"},
    ".google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    # Its JSON form: the paths in lowerCamelCase, separated by commas (e.g. "url,eventKinds").
    ".google.protobuf.FieldMask": {"type": "string"},
    ".google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}
_ERROR_SCHEMA = {
    "type": "object",
    "description": "google.rpc.Status in its HTTP form (AIP-193).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "integer", "description": "The HTTP status code."},
                "message": {"type": "string", "description": "What is wrong, for a developer."},
                "status": {"type": "string", "description": "The google.rpc.Code name, e.g. INVALID_ARGUMENT."},
                "details": {
                    "type": "array",
                    "description": "ErrorInfo always; BadRequest naming each field, RetryInfo when it applies.",
                    "items": {"$ref": "#/components/schemas/google.protobuf.Any"},
                },
            },
            "required": ["code", "message", "status", "details"],
        }
    },
    "required": ["error"],
}


_UUID: dict[str, Any] = {"type": "string", "format": "uuid"}


def _items(count: tuple[int, int], item: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"minItems": count[0], "maxItems": count[1], **({"items": item} if item else {})}


def _request_constraints() -> dict[str, dict[str, Any]]:
    """JSON Schema keywords per request field (full proto name), from the domain's numbers.
    Each is what the service itself checks (server/domain/validation.py and friends); a
    length is in characters here where the domain counts UTF-16 units (TikTok's texts), a
    looser bound that the service's own check makes exact."""
    ids = {f"distribution.v1.{m}.id": _UUID for m in (
        "GetAccountRequest", "DisconnectAccountRequest", "GetMediaRequest", "GetPublishRequest",
        "WatchPublishRequest", "CancelPublishRequest", "UpdatePublishScheduleRequest", "GetWebhookRequest",
        "DeleteWebhookRequest", "UpdateWebhookRequest", "RedeliverWebhookEventsRequest", "RotateWebhookSecretRequest",
        "SendTestWebhookEventRequest",
    )}
    ig, tt = "distribution.v1.PublishInstagramCarouselRequest", "distribution.v1.PublishTikTokCarouselRequest"
    return {
        **ids,
        "distribution.v1.ListWebhookDeliveriesRequest.webhook_id": _UUID,
        "distribution.v1.RedeliverWebhookEventsRequest.delivery_id": _UUID,
        "distribution.v1.ListPublishesRequest.account_id": _UUID,
        "distribution.v1.WatchPublishesRequest.account_id": _UUID,
        "distribution.v1.ListAccountsRequest.page_size": {"minimum": 0},
        "distribution.v1.ListMediaRequest.page_size": {"minimum": 0},
        "distribution.v1.ListPublishesRequest.page_size": {"minimum": 0},
        "distribution.v1.ListWebhooksRequest.page_size": {"minimum": 0},
        "distribution.v1.ListWebhookDeliveriesRequest.page_size": {"minimum": 0},
        "distribution.v1.ConnectAccountRequest.external_account_id": {"minLength": 1, "maxLength": MAX_ID_LENGTH},
        "distribution.v1.ConnectAccountRequest.username": {"maxLength": MAX_USERNAME_LENGTH},
        "distribution.v1.ConnectAccountRequest.access_token": {"minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
        "distribution.v1.ConnectAccountRequest.refresh_token": {"maxLength": MAX_TOKEN_LENGTH},
        "distribution.v1.RegisterMediaRequest.url": {"minLength": 1, "maxLength": MAX_URL_LENGTH},
        "distribution.v1.CreateWebhookRequest.url": {"minLength": 1, "maxLength": MAX_URL_LENGTH},
        f"{ig}.media_ids": _items((INSTAGRAM.min_items, INSTAGRAM.max_items), _UUID),
        f"{ig}.instagram_account_id": _UUID,
        f"{ig}.caption": {"maxLength": INSTAGRAM.caption_max_chars},
        f"{ig}.request_id": _UUID,
        f"{ig}.images": {"maxItems": INSTAGRAM.max_items},
        # A username with its optional leading "@".
        f"{ig}.collaborators": _items(
            (0, INSTAGRAM.max_collaborators), {"maxLength": INSTAGRAM.username_max_chars + 1}
        ),
        f"{ig}.location_id": {"maxLength": INSTAGRAM.location_id_max_chars, "pattern": "^[0-9]*$"},
        f"{ig}.first_comment": {"maxLength": INSTAGRAM.first_comment_max_chars},
        "distribution.v1.InstagramImageOptions.alt_text": {"maxLength": INSTAGRAM.alt_text_max_chars},
        "distribution.v1.InstagramImageOptions.user_tags": {"maxItems": INSTAGRAM.max_user_tags_per_image},
        "distribution.v1.UserTag.x": {"minimum": 0, "maximum": 1},
        "distribution.v1.UserTag.y": {"minimum": 0, "maximum": 1},
        f"{tt}.media_ids": _items((TIKTOK.min_items, TIKTOK.max_items), _UUID),
        f"{tt}.tiktok_account_id": _UUID,
        f"{tt}.caption": {"maxLength": TIKTOK.caption_max_chars},
        f"{tt}.description": {"maxLength": TIKTOK.description_max_utf16},
        f"{tt}.cover_index": {"minimum": 0, "maximum": TIKTOK.max_items - 1},
        f"{tt}.request_id": _UUID,
    }


REQUEST_CONSTRAINTS = _request_constraints()


def _constrained(schema: dict[str, Any], rule: dict[str, Any] | None) -> dict[str, Any]:
    """`schema` with the constraint keywords of `rule`; an array's item keywords on its items."""
    if not rule:
        return schema
    out = {**schema}
    for key, value in rule.items():
        if key == "items" and "items" in out:
            out["items"] = {**out["items"], **value}
        elif out.get("type") == "array" and key not in ("minItems", "maxItems"):
            out["items"] = {**out.get("items", {}), key: value}
        else:
            out[key] = value
    return out


def _clean(comment: str) -> str:
    return " ".join(line.strip() for line in comment.strip().splitlines()).strip()


class _Index:
    """Messages, enums and comments of a FileDescriptorSet, by full name."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[str, str] = {}
        self.files = list(files.file)
        for file in self.files:
            locations = {tuple(loc.path): _clean(loc.leading_comments) for loc in file.source_code_info.location}
            prefix = f".{file.package}" if file.package else ""
            for i, message in enumerate(file.message_type):
                self._message(f"{prefix}.{message.name}", message, (4, i), locations)
            for i, enum in enumerate(file.enum_type):
                self._enum(f"{prefix}.{enum.name}", enum, (5, i), locations)
            for i, service in enumerate(file.service):
                for j, method in enumerate(service.method):
                    self.comments[f"{prefix}.{service.name}.{method.name}"] = locations.get((6, i, 2, j), "")

    def _message(self, name: str, message: descriptor_pb2.DescriptorProto, path: tuple[int, ...],
                 locations: dict[tuple[int, ...], str]) -> None:
        self.messages[name] = message
        self.comments[name] = locations.get(path, "")
        for i, field in enumerate(message.field):
            self.comments[f"{name}.{field.name}"] = locations.get((*path, 2, i), "")
        for i, nested in enumerate(message.nested_type):
            self._message(f"{name}.{nested.name}", nested, (*path, 3, i), locations)
        for i, enum in enumerate(message.enum_type):
            self._enum(f"{name}.{enum.name}", enum, (*path, 4, i), locations)

    def _enum(self, name: str, enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...],
              locations: dict[tuple[int, ...], str]) -> None:
        self.enums[name] = enum
        self.comments[name] = locations.get(path, "")


def _is_required(comment: str) -> bool:
    """The contract marks a required field by starting its comment with "Required"."""
    return comment.startswith("Required")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name.lstrip('.')}"}


def _enum_prefix(names: list[str]) -> str:
    common = min(names, default="")
    for name in names:
        while not name.startswith(common):
            common = common[:-1]
    return common[: common.rfind("_") + 1]


class _Builder:
    def __init__(self, index: _Index) -> None:
        self.index = index
        self.schemas: dict[str, Any] = {}

    def field_schema(self, field: descriptor_pb2.FieldDescriptorProto, full_name: str = "") -> dict[str, Any]:
        """The field's schema, with the constraints the service checks on it (REQUEST_CONSTRAINTS)."""
        return _constrained(self._field_schema(field), REQUEST_CONSTRAINTS.get(full_name))

    def _field_schema(self, field: descriptor_pb2.FieldDescriptorProto) -> dict[str, Any]:
        if field.type in (_F.TYPE_MESSAGE, _F.TYPE_GROUP):
            entry = self.index.messages.get(field.type_name)
            if entry is not None and entry.options.map_entry:
                return {"type": "object", "additionalProperties": self.field_schema(entry.field[1])}
            if field.type_name in _WELL_KNOWN and field.type_name != ".google.protobuf.Any":
                return dict(_WELL_KNOWN[field.type_name])
            self.message(field.type_name)
            item = _ref(field.type_name)
        elif field.type == _F.TYPE_ENUM:
            self.enum(field.type_name)
            item = _ref(field.type_name)
        else:
            item = dict(_SCALARS[field.type])
        if field.label == _F.LABEL_REPEATED:
            return {"type": "array", "items": item}
        return item

    def message(self, name: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """The schema of a message (registered under its name unless fields are skipped)."""
        key = name.lstrip(".")
        if not skip and key in self.schemas:
            return self.schemas[key]
        if name in _WELL_KNOWN:
            self.schemas[key] = dict(_WELL_KNOWN[name])
            return self.schemas[key]
        message = self.index.messages[name]
        schema: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
        if description := self.index.comments.get(name):
            schema["description"] = description
        if not skip:
            self.schemas[key] = schema  # before the fields: a message may refer to itself
        for field in message.field:
            if field.name in skip:
                continue
            property_schema = self.field_schema(field, f"{key}.{field.name}")
            if _is_required(self.index.comments.get(f"{name}.{field.name}", "")):
                schema.setdefault("required", []).append(field.json_name)
            if description := self.index.comments.get(f"{name}.{field.name}"):
                property_schema = (
                    {"allOf": [property_schema], "description": description}
                    if "$ref" in property_schema
                    else {**property_schema, "description": description}
                )
            schema["properties"][field.json_name] = property_schema
        return schema

    def enum(self, name: str) -> None:
        key = name.lstrip(".")
        if key in self.schemas:
            return
        names = [value.name for value in self.index.enums[name].value]
        prefix = _enum_prefix(names)
        short = [n[len(prefix):] for n in names if prefix and n.startswith(prefix)]
        # The spec's spellings: unprefixed, upper case ("SELF_ONLY") or lower ("direct", "inbox").
        schema: dict[str, Any] = {"type": "string", "enum": names + short + [n.lower() for n in short]}
        description = self.index.comments.get(name, "")
        if short:
            description += f" The {prefix} prefix may be left out (any letter case), e.g. {short[-1].lower()}."
        if description.strip():
            schema["description"] = description.strip()
        self.schemas[key] = schema

    def query_parameters(self, request: str, bound: set[str]) -> list[dict[str, Any]]:
        parameters = []
        for field in self.index.messages[request].field:
            if field.name in bound:
                continue
            if field.type == _F.TYPE_MESSAGE and field.type_name not in _WELL_KNOWN:
                continue  # messages travel in a body only
            parameter: dict[str, Any] = {
                "name": field.json_name, "in": "query",
                "schema": self.field_schema(field, f"{request.lstrip('.')}.{field.name}"),
            }
            if _is_required(self.index.comments.get(f"{request}.{field.name}", "")):
                parameter["required"] = True
            if field.label == _F.LABEL_REPEATED:
                parameter["explode"] = True
            if description := self.index.comments.get(f"{request}.{field.name}"):
                parameter["description"] = description
            parameters.append(parameter)
        return parameters


def _path_fields(template: str) -> list[str]:
    fields, rest = [], template
    while "{" in rest:
        start, end = rest.index("{"), rest.index("}")
        fields.append(rest[start + 1 : end].split("=")[0])
        rest = rest[end + 1 :]
    return fields


def _operation(builder: _Builder, service: str, method: descriptor_pb2.MethodDescriptorProto,
               rule: Any, template: str) -> dict[str, Any]:
    index = builder.index
    request = method.input_type
    path_fields = _path_fields(template)
    request_fields = {f.name: f for f in index.messages[request].field}
    parameters: list[dict[str, Any]] = [
        {
            "name": name, "in": "path", "required": True,
            "schema": builder.field_schema(request_fields[name], f"{request.lstrip('.')}.{name}"),
            **({"description": d} if (d := index.comments.get(f"{request}.{name}")) else {}),
        }
        for name in path_fields
    ]
    operation: dict[str, Any] = {
        "operationId": f"{service.rsplit('.', 1)[-1]}_{method.name}",
        "tags": [service.rsplit(".", 1)[-1]],
        "summary": f"{service.lstrip('.')}.{method.name}",
    }
    if description := index.comments.get(f"{service}.{method.name}"):
        operation["description"] = description
    if rule.body == "*":
        body = builder.message(request, skip=tuple(path_fields)) if path_fields else _ref(request)
        if not path_fields:
            builder.message(request)
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    elif rule.body:
        operation["requestBody"] = {
            "content": {"application/json": {"schema": builder.field_schema(request_fields[rule.body])}}
        }
        # AIP-127: the fields neither the path nor the body binds are query parameters (update_mask).
        parameters += builder.query_parameters(request, {*path_fields, rule.body})
    else:
        parameters += builder.query_parameters(request, set(path_fields))
    if "request_id" in request_fields:
        parameters.append({
            "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "Taken as request_id (AIP-155) when the body gives none.",
        })
    if method.name == "PublishInstagramMedia":
        parameters.append({
            "name": "X-Server-Timeout", "in": "header", "required": False,
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
            "description": "The caller's deadline in seconds: a publish still running a moment before it is "
            "answered as it stands (PROCESSING) and runs on.",
        })
    parameters.append({
        "name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"},
        "description": "Carried on the service's log lines for this call; one is made up when absent.",
    })
    operation["parameters"] = parameters
    builder.message(method.output_type)
    response_schema = _ref(method.output_type)
    if method.server_streaming:
        content = {
            "application/x-ndjson": {"schema": response_schema},
            "text/event-stream": {"schema": {"type": "string"}},
        }
        what = f"A stream of {method.output_type.lstrip('.')}: one JSON object per line, or server-sent events"
    else:
        content = {"application/json": {"schema": response_schema}}
        what = method.output_type.lstrip(".")
    operation["responses"] = {
        "200": {"description": what, "content": content},
        "default": {
            "description": "An error: google.rpc.Status (AIP-193)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    }
    return operation


def openapi_document(files: descriptor_pb2.FileDescriptorSet, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every annotated method in `files`."""
    index = _Index(files)
    builder = _Builder(index)
    builder.message(".google.protobuf.Any")
    paths: dict[str, dict[str, Any]] = {}
    for file in index.files:
        if not file.service:
            continue
        for service in file.service:
            full_service = f".{file.package}.{service.name}"
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                verb = rule.WhichOneof("pattern")
                if verb not in _VERBS:
                    continue
                template = getattr(rule, verb)
                paths.setdefault(template, {})[verb] = _operation(builder, full_service, method, rule, template)
    builder.schemas["Error"] = _ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "The HTTP/JSON form of the gRPC API, transcoded by the contract's google.api.http "
                "annotations. Generated from proto/ by `make generate`."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key."}},
        },
        # Without configured keys the service runs open (loopback only): both are listed.
        "security": [{"bearerAuth": []}, {}],
    }
