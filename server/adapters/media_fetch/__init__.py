"""The media inspector (the MediaInspector port): what a media URL's bytes are, read over
HTTP within time and byte limits, through the egress guard (server/adapters/egress.py) or,
in the sandbox, from the sandbox media host."""

from server.adapters.media_fetch.headers import identify
from server.adapters.media_fetch.inspector import (
    DirectFetcher,
    Fetched,
    FetchLimits,
    HttpMediaInspector,
    SandboxFetcher,
)

__all__ = ["DirectFetcher", "FetchLimits", "Fetched", "HttpMediaInspector", "SandboxFetcher", "identify"]
