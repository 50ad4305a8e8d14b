"""The kept renderings of list pages (server/api/rendered.py): exact revisions, bounded."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings
from server.domain.models import PublishVersion as V
from server.grpc_api.rendered import RenderedPublishes


def test_only_the_exact_revision_is_served():
    kept = RenderedPublishes(10)
    kept.put(V("a", 3), b"a3")
    assert kept.get(V("a", 3)) == b"a3"
    assert kept.get(V("a", 4)) is None  # changed since: rendered again
    assert kept.get(V("a", 2)) is None
    assert kept.get(V("b", 3)) is None


def test_an_older_rendering_never_replaces_a_newer_one():
    # Two pages may render one publish at different revisions, the older finishing last.
    kept = RenderedPublishes(10)
    kept.put(V("a", 5), b"a5")
    kept.put(V("a", 4), b"a4")
    assert kept.get(V("a", 5)) == b"a5"
    kept.put(V("a", 6), b"a6")
    assert kept.get(V("a", 6)) == b"a6" and len(kept) == 1


def test_the_least_recently_used_go_beyond_capacity():
    kept = RenderedPublishes(3)
    for name in "abc":
        kept.put(V(name, 1), name.encode())
    assert kept.get(V("a", 1)) == b"a"  # used: now the most recent
    kept.put(V("d", 1), b"d")
    assert len(kept) == 3
    assert kept.get(V("b", 1)) is None
    assert [kept.get(V(n, 1)) for n in "acd"] == [b"a", b"c", b"d"]


def test_capacity_zero_keeps_nothing():
    kept = RenderedPublishes(0)
    kept.put(V("a", 1), b"a")
    assert len(kept) == 0 and kept.get(V("a", 1)) is None


@pytest.mark.parametrize("raw, entries", [("", 10_000), ("0", 0), ("500", 500)])
def test_capacity_comes_from_the_environment(raw, entries):
    assert load_settings({"DISTRIBUTION_LIST_CACHE_ENTRIES": raw}).list_cache_entries == entries


@pytest.mark.parametrize("raw", ["-1", "lots", "1.5"])
def test_a_bad_capacity_is_a_configuration_error(raw):
    with pytest.raises(ConfigError, match="DISTRIBUTION_LIST_CACHE_ENTRIES"):
        load_settings({"DISTRIBUTION_LIST_CACHE_ENTRIES": raw})
