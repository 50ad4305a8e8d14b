"""Domain rules the use cases lean on, where the use-case tests do not reach them."""

from __future__ import annotations

import pytest

from server.domain.models import Credentials, NewAccount, Platform
from server.domain.platforms import TokenGrant
from server.services.workflow.checkpoint import CheckpointedWorkflow, PublishTarget
from tests.unit.conftest import World


def test_no_token_reaches_a_repr() -> None:
    secrets = ("secret-access", "secret-refresh")
    shown = [
        repr(NewAccount("ws", Platform.TIKTOK, "oid", "demo", *secrets, None, None)),
        repr(Credentials(*secrets)),
        repr(TokenGrant(secrets[0], 60, secrets[1], 60, "oid")),
    ]
    assert not [text for text in shown for secret in secrets if secret in text]


async def test_a_workflow_must_name_its_steps(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    account = await world.instagram_account()
    bare: CheckpointedWorkflow[object] = CheckpointedWorkflow(
        object(), world.services.publish_log, world.settings.instagram_poll, None, world.clock  # type: ignore[arg-type]
    )

    async def token(refresh: bool = False) -> str:
        return "t"

    with pytest.raises(NotImplementedError):
        await bare.run(publish, PublishTarget(account, [], token))
