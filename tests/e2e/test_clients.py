"""Other clients against the real in-process server: the Node.js example client, the grpcurl
walkthrough (the README's block, then docs/walkthrough.md's and the scheduling example of
docs/scheduling.md, run as written, so the docs cannot rot), buf curl, and the default client
service config in a real channel.

Every external tool runs as an asyncio subprocess (tests.support.tools.run), so the in-process
server keeps serving while the tool talks to it. Nothing is skipped: a missing node, npm install,
grpcurl or buf is a failure (`make test` installs them all)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import uuid

import distribution.v1
import grpc
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publishing_service_pb2,
)

from tests.support.paths import BUF, GRPCURL, ROOT
from tests.support.tools import Completed, run, tool

NODE_CLIENT = ROOT / "clients" / "node"
SERVICE_CONFIG = ROOT / "clients" / "service_config.json"
README_ADDRESS = "127.0.0.1:50051"


# --- Node.js client ------------------------------------------------------------


async def node_client(address: str, *args: str) -> Completed:
    node = shutil.which("node")
    assert node, "node is not on PATH: the Node.js client tests need it (as does `make test` for buf)"
    tool(NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js", "run `make clients/node/node_modules/.installed`")
    return await run(node, NODE_CLIENT / "publish_carousel.js", "--address", address, *args)


async def test_node_client_publishes_a_carousel_and_reads_the_account_back(service, instagram_sandbox):
    result = await node_client(service.address, "gs://demo-bucket/node-1.jpg", "gs://demo-bucket/node-2.jpg")
    assert result.returncode == 0, result.describe()
    out = json.loads(result.stdout)

    publish = out["publish"]
    assert str(uuid.UUID(publish["instagramPublishId"])) == publish["instagramPublishId"]
    assert publish["igMediaId"].isdigit()
    assert publish["permalink"].startswith("https://www.instagram.com/p/")
    assert publish["imageCount"] == 2
    assert publish["state"] == "PUBLISH_STATE_PUBLISHED"
    assert str(uuid.UUID(out["requestId"])) == out["requestId"]

    assert [m["url"] for m in out["media"]] == ["gs://demo-bucket/node-1.jpg", "gs://demo-bucket/node-2.jpg"]
    assert all(m["mimeType"] == "image/jpeg" and m["kind"] == "MEDIA_KIND_IMAGE" for m in out["media"])

    account = out["getAccount"]
    assert account["id"] == out["account"]["id"]
    assert account["platform"] == "PLATFORM_INSTAGRAM"
    assert account["state"] == "ACCOUNT_STATE_ACTIVE"
    assert account["externalAccountId"] == "17841400000000001"
    assert "sandbox-token" not in result.stdout

    # The post really went out, once, with the id the client printed.
    posts = instagram_sandbox.posts("17841400000000001")
    assert [p["id"] for p in posts] == [publish["igMediaId"]]
    assert posts[0]["permalink"] == publish["permalink"]


async def test_node_client_decodes_the_rich_error_of_a_one_item_carousel(service, instagram_sandbox):
    result = await node_client(service.address, "--error-case")
    assert result.returncode == 0, result.describe()
    out = json.loads(result.stdout)

    assert out["code"] == "INVALID_ARGUMENT"
    assert "media_ids" in out["message"]
    assert out["reason"] == "INVALID_REQUEST"
    assert out["domain"] == "distribution"
    violations = {v["field"]: v["description"] for v in out["fieldViolations"]}
    assert set(violations) == {"media_ids"}
    assert "got 1" in violations["media_ids"]
    assert instagram_sandbox.calls.total() == 0


# --- the grpcurl walkthrough: README, docs/walkthrough.md, docs/scheduling.md --------------


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def walkthrough_blocks() -> list[str]:
    """The README's grpcurl block, the walkthrough's blocks that continue it in the same
    shell, and the scheduling example (which continues it too)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Try it with grpcurl\n", 1)[1]
    section = re.split(r"^## ", section, maxsplit=1, flags=re.MULTILINE)[0]
    tour = bash_blocks((ROOT / "docs" / "walkthrough.md").read_text())
    scheduling = bash_blocks((ROOT / "docs" / "scheduling.md").read_text())
    return bash_blocks(section)[:1] + tour + scheduling


# Each block runs in its own bash, strictly. The variables and functions a block defines
# (rpc, field, ACCOUNT, M1, ...) are saved to a file that the next block sources, as if they
# were pasted into one terminal.
BLOCK_PRELUDE = """set -euo pipefail
__base="$(compgen -v)"
if [[ -f "$WALKTHROUGH_STATE" ]]; then source "$WALKTHROUGH_STATE"; fi
"""
BLOCK_EPILOGUE = """
{
  declare -f
  for __v in $(compgen -v); do
    case "$__v" in
      __*|_|BASH*|PIPESTATUS|FUNCNAME|GROUPS|DIRSTACK|OPT*|RANDOM|SRANDOM|SECONDS|LINENO|EPOCH*) continue;;
    esac
    grep -qxF "$__v" <<<"$__base" || declare -p "$__v"
  done
} > "$WALKTHROUGH_STATE"
"""


async def test_the_grpcurl_walkthrough_runs_as_written(service, tmp_path):
    tool(GRPCURL, "run `make` (requirements-dev.txt installs grpcurl into .venv)")
    blocks = [b.replace(README_ADDRESS, service.address) for b in walkthrough_blocks()]
    assert len(blocks) == 5, "the walkthrough's blocks changed shape: update this test with them"
    env = {"WALKTHROUGH_STATE": str(tmp_path / "walkthrough.state")}

    async def bash(script: str, strict: bool = True) -> Completed:
        return await run("bash", "-c", BLOCK_PRELUDE + script + (BLOCK_EPILOGUE if strict else ""), env=env)

    # 1. Instagram: list, connect, register three images, publish.
    first = await bash(blocks[0])
    assert first.returncode == 0, first.describe()
    for name in ("distribution.v1.AccountService", "distribution.v1.MediaService",
                 "distribution.v1.PublishingService", "grpc.health.v1.Health"):
        assert re.search(rf"^{re.escape(name)}$", first.stdout, re.MULTILINE), first.describe()
    assert '"state": "PUBLISH_STATE_PUBLISHED"' in first.stdout, first.describe()
    assert '"permalink": "https://www.instagram.com/p/' in first.stdout
    assert '"image_count": 3' in first.stdout

    # 2. TikTok: a direct post, then an inbox delivery, then a video pulled from GCS.
    second = await bash(blocks[1])
    assert second.returncode == 0, second.describe()
    assert second.stdout.count('"state": "PUBLISH_STATE_PUBLISHED"') == 2, second.describe()
    assert second.stdout.count('"state": "PUBLISH_STATE_DELIVERED_TO_INBOX"') == 1, second.describe()
    assert '"source": "PULL_FROM_URL"' in second.stdout, second.describe()

    # 3. The story of the Instagram publish: record, timeline, each list filter, watch.
    third = await bash(blocks[2])
    assert third.returncode == 0, third.describe()
    assert '"events": [' in third.stdout and '"type": "PUBLISH_SENT"' in third.stdout, third.describe()
    assert '"type": "PERMALINK_READ"' in third.stdout, third.describe()
    assert '"instagram_container_id": "' in third.stdout and '"ig_media_id": "' in third.stdout
    assert '"tiktok_publish_id": "' in third.stdout  # from the TikTok-only list
    assert '"publishes": [' in third.stdout

    # 4. "More to explore": everything but its last command succeeds; the last one is the
    # intentional validation error.
    lines = blocks[3].rstrip("\n").split("\n")
    error_command = lines[-1]
    assert "PublishInstagramCarousel" in error_command
    explore = await bash("\n".join(lines[:-1]) + "\n")
    assert explore.returncode == 0, explore.describe()
    assert "rpc PublishInstagramCarousel" in explore.stdout, explore.describe()
    assert explore.stdout.count('"status": "SERVING"') == 2, explore.describe()
    assert '"accounts": [' in explore.stdout and '"media": [' in explore.stdout

    error = await bash(error_command + "\n", strict=False)
    assert error.returncode != 0, error.describe()
    output = error.stdout + error.stderr
    assert "Code: InvalidArgument" in output, error.describe()
    assert "type.googleapis.com/google.rpc.BadRequest" in output, error.describe()
    assert '"field":"media_ids"' in output.replace(" ", ""), error.describe()

    # 5. docs/scheduling.md: a carousel an hour ahead (the time printed portably), then listed.
    later = await bash(blocks[4])
    assert later.returncode == 0, later.describe()
    assert later.stdout.count('"state": "PUBLISH_STATE_SCHEDULED"') == 2, later.describe()  # answer, list
    assert '"schedule_time": "' in later.stdout, later.describe()
    # Nothing was created on Instagram yet, and the record says so by listing no container.
    assert "instagram_child_container_ids" not in later.stdout, later.describe()


# --- buf curl ------------------------------------------------------------------------


async def test_buf_curl_speaks_grpc_with_the_checked_in_schema(service, media):
    tool(BUF, "run `make node_modules/.installed`")
    result = await run(
        BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
        # The schema comes from proto/, not from server reflection: this also proves the
        # checked-in contract is what the server speaks.
        "--schema", "proto",
        "-d", '{"url":"gs://b/x.jpg"}',
        f"http://{service.address}/distribution.v1.MediaService/RegisterMedia",
    )
    assert result.returncode == 0, result.describe()
    registered = json.loads(result.stdout)["media"]
    # Canonical proto3 JSON: lowerCamelCase names, enums by name, zero values left out.
    assert registered["mimeType"] == "image/jpeg"
    assert "mime_type" not in registered
    assert registered["kind"] == "MEDIA_KIND_IMAGE"
    assert registered["storage"] == "STORAGE_GCS"
    assert "width" not in registered

    got = await media.GetMedia(media_service_pb2.GetMediaRequest(id=registered["id"]))
    assert got.media.url == "gs://b/x.jpg"


# --- default client service config ------------------------------------------------------


async def test_service_config_works_in_a_real_channel(service):
    config = SERVICE_CONFIG.read_text()
    async with grpc.aio.insecure_channel(service.address, options=[("grpc.service_config", config)]) as channel:
        accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        media = media_service_pb2_grpc.MediaServiceStub(channel)
        connected = await accounts.ConnectAccount(
            account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id="17841400000000009",
                username="config", access_token="sandbox-token",
            )
        )
        got = await accounts.GetAccount(account_service_pb2.GetAccountRequest(id=connected.account.id))
        assert got.account.username == "config"
        registered = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url="gs://b/config.jpg"))
        listed = await media.ListMedia(media_service_pb2.ListMediaRequest(page_size=10))
        assert [m.id for m in listed.media] == [registered.media.id]

    # The control: gRPC does reject a service config it cannot use, so the success above means
    # something (a retry policy needs maxAttempts >= 2).
    broken = json.loads(config)
    broken["methodConfig"][0]["retryPolicy"]["maxAttempts"] = 1
    options = [("grpc.service_config", json.dumps(broken))]
    async with grpc.aio.insecure_channel(service.address, options=options) as channel:
        try:
            await account_service_pb2_grpc.AccountServiceStub(channel).ListAccounts(
                account_service_pb2.ListAccountsRequest()
            )
        except grpc.aio.AioRpcError as err:
            assert "service config" in (err.details() or ""), err.details()
        else:
            raise AssertionError("a service config with maxAttempts 1 was accepted")


def _services() -> dict[str, list[str]]:
    """Every distribution.v1 service and its methods, from the generated descriptors."""
    services: dict[str, list[str]] = {}
    for module_info in pkgutil.iter_modules(distribution.v1.__path__):
        if module_info.name.endswith("_pb2"):
            module = importlib.import_module(f"distribution.v1.{module_info.name}")
            for svc in module.DESCRIPTOR.services_by_name.values():
                services[svc.full_name] = [m.name for m in svc.methods]
    return services


def test_service_config_policy_per_method():
    config = json.loads(SERVICE_CONFIG.read_text())
    services = _services()
    assert publishing_service_pb2.DESCRIPTOR.services_by_name["PublishingService"].full_name in services

    by_method: dict[str, dict] = {}
    by_service: dict[str, dict] = {}
    for entry in config["methodConfig"]:
        for name in entry["name"]:
            # gRPC ignores names that match nothing; a typo would silently drop the policy.
            assert name["service"] in services, f"service config names unknown service {name}"
            if "method" in name:
                assert name["method"] in services[name["service"]], f"service config names unknown method {name}"
                by_method[f"{name['service']}/{name['method']}"] = entry
            else:
                by_service[name["service"]] = entry

    def effective(service: str, method: str) -> dict:
        entry = by_method.get(f"{service}/{method}") or by_service.get(service)
        assert entry is not None, (
            f"{service}/{method} has no timeout in clients/service_config.json: add the service "
            "(and the method, if it is idempotent and should be retried) there and in docs/clients.md"
        )
        return entry

    for service, methods in services.items():
        for method in methods:
            entry = effective(service, method)
            # Publishes wait until the post is live; a watch streams until the publish ends.
            long_running = method.startswith(("Publish", "Watch"))
            # The test ping waits for the receiver's answer (DISTRIBUTION_WEBHOOK_TIMEOUT, 10 s).
            expected_timeout = "600s" if long_running else "30s" if method == "SendTestWebhookEvent" else "10s"
            assert entry["timeout"] == expected_timeout, f"{service}/{method}"
            if "retryPolicy" in entry:
                assert entry["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"], f"{service}/{method}"

    retried = {
        "distribution.v1.AccountService": ["ConnectAccount", "GetAccount", "ListAccounts", "DisconnectAccount"],
        "distribution.v1.MediaService": ["GetMedia", "ListMedia"],
        # Publishes: safe to retry thanks to request_id; cancel and reschedule are idempotent;
        # the rest are read-only.
        "distribution.v1.PublishingService": [
            "PublishInstagramCarousel", "PublishInstagramMedia", "PublishTikTokCarousel", "PublishTikTokVideo",
            "GetPublish", "ListPublishes", "WatchPublish",
            "CancelPublish", "UpdatePublishSchedule",
        ],
        # The same change again changes nothing.
        "distribution.v1.WebhookService": ["GetWebhook", "ListWebhooks", "UpdateWebhook", "ListWebhookDeliveries"],
    }
    for service, methods in retried.items():
        for method in methods:
            assert "retryPolicy" in effective(service, method), f"{service}/{method} should be retried"
    # Not idempotent: a retry after a lost response would register the media twice, register a
    # second webhook, rotate a secret again or queue the events again.
    assert "retryPolicy" not in effective("distribution.v1.MediaService", "RegisterMedia")
    for method in ("CreateWebhook", "RotateWebhookSecret", "RedeliverWebhookEvents", "SendTestWebhookEvent"):
        assert "retryPolicy" not in effective("distribution.v1.WebhookService", method), method
