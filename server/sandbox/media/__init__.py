"""The sandbox media host: real image bytes for the sandbox's media URLs (README.md)."""

from server.sandbox.media.convention import MediaSpec, NotServed, host_path, spec_for, spec_for_url
from server.sandbox.media.host import MediaHost, MediaHostConfig
from server.sandbox.media.probe import ClipFacts, ImageFacts, ImageProbe, convention_clip, convention_facts

__all__ = [
    "ClipFacts",
    "ImageFacts",
    "ImageProbe",
    "MediaHost",
    "MediaHostConfig",
    "MediaSpec",
    "NotServed",
    "convention_clip",
    "convention_facts",
    "host_path",
    "spec_for",
    "spec_for_url",
]
