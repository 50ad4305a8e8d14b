"""The sandbox media host: real image bytes for the sandbox's media URLs (README.md)."""

from server.sandbox.media.convention import MediaSpec, NotServed, host_path, spec_for, spec_for_url
from server.sandbox.media.host import MediaHost, MediaHostConfig
from server.sandbox.media.probe import ImageFacts, ImageProbe, convention_facts

__all__ = [
    "ImageFacts",
    "ImageProbe",
    "MediaHost",
    "MediaHostConfig",
    "MediaSpec",
    "NotServed",
    "convention_facts",
    "host_path",
    "spec_for",
    "spec_for_url",
]
