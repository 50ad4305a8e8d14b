"""The integration layer: the adapters against the real emulators (in-process, on loopback)
and the real SQLite store in tmp_path, driven directly or through the use cases (`core`);
no gRPC transport."""

from tests.support.fixtures import core, instagram_sandbox, settings, tiktok_sandbox

__all__ = ["core", "instagram_sandbox", "settings", "tiktok_sandbox"]
