"""Post options as a record keeps them (server/domain/options.py): one typed value per
platform with its defaults and its record form in one place, and every form records were
ever stored in still read as they meant."""

from __future__ import annotations

import pytest

from server.domain.commands import InstagramCarousel, TikTokCarousel
from server.domain.options import (
    ImageOptions,
    InstagramOptions,
    TikTokOptions,
    UserTag,
    options_from_record,
)
from server.domain.post_options import instagram_options, tiktok_options


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({}, InstagramOptions()),
        # A record of before the post options: nothing stored.
        (None, InstagramOptions()),
        (
            {"images": [{"alt_text": "A leaf", "user_tags": [{"username": "ada", "x": 0.5, "y": 1}]},
                        {"alt_text": "", "user_tags": []}],
             "collaborators": ["bob"], "location_id": "110843418940484", "first_comment": "Hi"},
            InstagramOptions(
                images=(ImageOptions("A leaf", (UserTag("ada", 0.5, 1.0),)), ImageOptions()),
                collaborators=("bob",), location_id="110843418940484", first_comment="Hi",
            ),
        ),
        # Unknown keys (a later version's option) are left alone, not refused.
        ({"collaborators": ["bob"], "music": "x"}, InstagramOptions(collaborators=("bob",))),
    ],
)
def test_instagram_records_of_every_form_read(stored: dict[str, object] | None, expected: InstagramOptions) -> None:
    assert options_from_record("INSTAGRAM", stored) == expected


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        # An inbox delivery: no privacy level or toggles were ever stored for it.
        ({"post_mode": "INBOX", "cover_index": 0, "description": ""}, TikTokOptions(post_mode="INBOX")),
        # A direct post of before disclosure and consent existed.
        (
            {"post_mode": "DIRECT", "cover_index": 2, "description": "d", "privacy_level": "PUBLIC_TO_EVERYONE",
             "disable_comment": True, "auto_add_music": False},
            TikTokOptions(cover_index=2, description="d", privacy_level="PUBLIC_TO_EVERYONE", disable_comment=True),
        ),
        # Consent not stated (None) stays not stated; the nickname once checked is kept.
        (
            {"post_mode": "DIRECT", "cover_index": 0, "description": "", "privacy_level": "SELF_ONLY",
             "disable_comment": False, "auto_add_music": False, "brand_content_toggle": False,
             "brand_organic_toggle": True, "creator_consent_obtained": None, "creator_nickname": "Ada"},
            TikTokOptions(privacy_level="SELF_ONLY", brand_organic_toggle=True, creator_nickname="Ada"),
        ),
        ({}, TikTokOptions()),
    ],
)
def test_tiktok_records_of_every_form_read(stored: dict[str, object], expected: TikTokOptions) -> None:
    assert options_from_record("TIKTOK", stored) == expected


def test_the_record_form_leaves_unset_options_out_as_records_always_had_them() -> None:
    assert InstagramOptions().to_record() == {}
    assert InstagramOptions(first_comment="Hi").to_record() == {"first_comment": "Hi"}
    assert TikTokOptions(post_mode="INBOX", cover_index=1).to_record() == {
        "post_mode": "INBOX", "cover_index": 1, "description": "",
    }
    direct = TikTokOptions(privacy_level="PUBLIC_TO_EVERYONE", creator_consent_obtained=True)
    assert direct.to_record() == {
        "post_mode": "DIRECT", "cover_index": 0, "description": "", "privacy_level": "PUBLIC_TO_EVERYONE",
        "disable_comment": False, "auto_add_music": False, "brand_content_toggle": False,
        "brand_organic_toggle": False, "creator_consent_obtained": True,
    }


@pytest.mark.parametrize(
    "options",
    [
        InstagramOptions(images=(ImageOptions("a", (UserTag("u", 0.1, 0.9),)),), collaborators=("c",)),
        TikTokOptions(post_mode="INBOX", description="x"),
        TikTokOptions(privacy_level="MUTUAL_FOLLOW_FRIENDS", auto_add_music=True, creator_consent_obtained=False,
                      creator_nickname="N"),
    ],
)
def test_a_record_form_reads_back_as_the_options_it_was_made_from(options: InstagramOptions | TikTokOptions) -> None:
    platform = "INSTAGRAM" if isinstance(options, InstagramOptions) else "TIKTOK"
    assert options_from_record(platform, options.to_record()) == options


def test_a_request_becomes_the_options_its_record_keeps() -> None:
    inbox = TikTokCarousel(media_ids=["m"], account_id="a", post_mode="INBOX", privacy_level="PUBLIC_TO_EVERYONE",
                           disable_comment=True)
    assert tiktok_options(inbox) == TikTokOptions(post_mode="INBOX")  # direct-post options are not kept for it
    direct = TikTokCarousel(media_ids=["m"], account_id="a", disable_comment=True, creator_consent_obtained=True)
    assert tiktok_options(direct) == TikTokOptions(privacy_level="SELF_ONLY", disable_comment=True,
                                                   creator_consent_obtained=True)
    carousel = InstagramCarousel(media_ids=["m", "n"], account_id="a", collaborators=("c",), first_comment="Hi")
    assert instagram_options(carousel) == InstagramOptions(collaborators=("c",), first_comment="Hi")
    assert instagram_options(carousel).image(1) == ImageOptions()


def test_what_tiktok_is_sent_instead_and_comments_off_by_the_creator_are_kept_only_when_they_apply() -> None:
    fitted = TikTokOptions(
        privacy_level="SELF_ONLY", platform_title="", platform_description="A long caption\n\nmore",
        text_fitted="CAPTION_OVER_TITLE_LIMIT", disable_comment=True, comments_disabled_by_creator=True,
    )
    record = fitted.to_record()
    assert (record["platform_description"], record["text_fitted"], record["comments_disabled_by_creator"]) == (
        "A long caption\n\nmore", "CAPTION_OVER_TITLE_LIMIT", True
    )
    assert options_from_record("TIKTOK", record) == fitted
    assert not {"platform_title", "platform_description", "text_fitted", "comments_disabled_by_creator"} & set(
        TikTokOptions(privacy_level="SELF_ONLY").to_record()
    )
