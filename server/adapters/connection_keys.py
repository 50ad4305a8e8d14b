"""The keys that sign a connection's `state`, derived from the sealing keys (TokenCipher):
every replica configured with the same DISTRIBUTION_SECRET_KEYS signs and verifies alike,
and rotating the sealing keys rotates these with them."""

from __future__ import annotations

# What the state keys are derived for (TokenCipher.derived_keys).
CONNECTION_STATE_PURPOSE = b"distribution account connection state v1"
