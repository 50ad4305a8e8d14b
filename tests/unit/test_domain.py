"""Domain rules the use cases lean on, where the use-case tests do not reach them."""

from __future__ import annotations

import pytest

from server.domain.models import Credentials, NewAccount, Platform
from server.domain.platforms import TokenGrant
from server.domain.validation import instagram_caption_violations, text_violations
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


def test_no_text_field_may_hold_nul_or_a_lone_surrogate_and_each_offender_is_named() -> None:
    violations = text_violations([
        ("caption", "Autumn\x00"), ("images[2].alt_text", "ok"), ("media_ids[1]", "\udc80"), ("username", "émile 🍂"),
    ])
    assert [(v.field, "NUL" in v.description, "surrogate" in v.description) for v in violations] == [
        ("caption", True, False), ("media_ids[1]", False, True),
    ]


@pytest.mark.parametrize("caption", ["🍂" * 2200, "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 440, "a" * 2200])
def test_an_instagram_caption_of_2200_characters_is_taken_however_long_its_encodings(caption: str) -> None:
    """The spec counts characters (code points), as Instagram's "2200 characters" is read."""
    assert len(caption) == 2200
    assert instagram_caption_violations(caption) == []
    [violation] = instagram_caption_violations(caption + "a")
    assert (violation.field, violation.description) == ("caption", "must be at most 2200 characters; got 2201")
