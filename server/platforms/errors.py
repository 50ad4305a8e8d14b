"""What a platform call can raise. Adapters translate HTTP and envelopes into these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PlatformError(Exception):
    """The platform answered with an error envelope."""

    platform: str
    endpoint: str
    http_status: int
    code: str  # Graph numeric code as text, or TikTok error.code
    message: str
    subcode: str = ""  # Graph error_subcode
    user_message: str = ""  # Graph error_user_msg
    trace_id: str = ""  # Graph fbtrace_id or TikTok log_id
    transient: bool = False  # the platform says the same call may succeed later
    retry_after: float | None = None  # seconds, from a Retry-After header

    def __post_init__(self) -> None:
        super().__init__(f"{self.platform} {self.endpoint}: {self.code} {self.message}")


@dataclass
class PlatformConnectionError(Exception):
    """No usable answer: connection refused or reset, timeout, or a body that is not the API's.

    `maybe_sent` is True when the platform may have received and acted on the request
    (reset or timeout after sending), so a call that changes the platform must not be
    blindly repeated.
    """

    platform: str
    endpoint: str
    detail: str
    maybe_sent: bool

    def __post_init__(self) -> None:
        super().__init__(f"{self.platform} {self.endpoint}: {self.detail}")
