"""Who may call, as configured in the environment (server/grpc_api/keys.py): API keys from
DISTRIBUTION_API_KEYS, client identities from DISTRIBUTION_TLS_CLIENT_WORKSPACES. A bad
entry is one error naming its variable and entry, never echoing a key. (The key file:
tests/integration/test_key_file.py; the message as `python -m server` prints it:
tests/e2e/test_startup_errors.py.)"""

from __future__ import annotations

import pytest

from server.grpc_api.keys import KeyConfigError, load_key_ring

ALPHA_KEY = "alpha-key-0123456789"
BETA_KEY = "beta-key-0123456789"


def test_each_key_opens_its_own_workspace_and_no_other() -> None:
    ring = load_key_ring(f" alpha={ALPHA_KEY} ,, beta.team={BETA_KEY},", "", "", mtls=False)
    assert ring.enabled
    assert ring.workspace_for_key(ALPHA_KEY) == "alpha"
    assert ring.workspace_for_key(BETA_KEY) == "beta.team"
    assert ring.workspace_for_key("alpha-key-012345678") is None
    assert ALPHA_KEY not in repr(ring)  # only hashes are kept


def test_no_keys_and_no_mutual_tls_is_an_open_service() -> None:
    assert not load_key_ring("", "", "", mtls=False).enabled
    assert load_key_ring("", "", "", mtls=True).enabled


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (f"alpha={ALPHA_KEY},{BETA_KEY}", "entry 2 is not workspace=key with a key of 16 or more characters"),
        (f"alpha={ALPHA_KEY},beta=short", "entry 2 is not workspace=key with a key of 16 or more characters"),
        (f"al pha={ALPHA_KEY}", "entry 1 has a malformed workspace name"),
        (f"{'w' * 65}={ALPHA_KEY}", "entry 1 has a malformed workspace name"),
        (f"={ALPHA_KEY}", "entry 1 has a malformed workspace name"),
        (
            f"alpha={ALPHA_KEY},alpha={ALPHA_KEY}",
            "lists the key of workspace alpha twice (DISTRIBUTION_API_KEYS entry 1 and DISTRIBUTION_API_KEYS entry 2)",
        ),
    ],
)
def test_a_bad_key_entry_is_named_by_its_number_and_the_keys_are_not_shown(keys: str, problem: str) -> None:
    with pytest.raises(KeyConfigError) as caught:
        load_key_ring(keys, "", "", mtls=False)
    assert (caught.value.variable, caught.value.value, caught.value.problem) == ("DISTRIBUTION_API_KEYS", None, problem)
    message = str(caught.value)
    assert message.startswith(f"DISTRIBUTION_API_KEYS {problem}; ")
    assert ALPHA_KEY not in message and "\n" not in message


def test_client_certificates_map_to_workspaces() -> None:
    ring = load_key_ring("", "", " billing-service=billing , ,reports=analytics_2", mtls=True)
    assert ring.client_workspaces == {"billing-service": "billing", "reports": "analytics_2"}
    assert ring.hashes == ()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("billing-service", "entry 1 is not common-name=workspace"),
        ("a=x, =billing", "entry 2 is not common-name=workspace"),
        ("billing-service=bill ing", "entry 1 has the workspace name 'bill ing'"),
        ("a=x,billing-service=", "entry 2 has the workspace name ''"),
        ("billing-service=billing,billing-service=audit", "maps the common name 'billing-service' twice"),
    ],
)
def test_a_bad_client_mapping_is_named_with_the_value(value: str, problem: str) -> None:
    with pytest.raises(KeyConfigError) as caught:
        load_key_ring("", "", value, mtls=True)
    assert (caught.value.variable, caught.value.value, caught.value.problem) == (
        "DISTRIBUTION_TLS_CLIENT_WORKSPACES", value, problem,
    )
    assert str(caught.value).startswith(f"DISTRIBUTION_TLS_CLIENT_WORKSPACES {problem}; ")
