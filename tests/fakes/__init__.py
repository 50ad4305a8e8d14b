"""In-memory fakes of every port in server/domain/ports.py, for the unit layer.

The store fake passes the same contract suites as the SQLite store (tests/contracts); the
platform fakes judge their failures with the real adapters' error tables. See
tests/unit/README.md.
"""

from tests.fakes.clock import FakeClock
from tests.fakes.instagram import FakeInstagram, IgFailure
from tests.fakes.media import FakeMediaInspector
from tests.fakes.metrics import RecordingMetrics
from tests.fakes.scripted import NORMAL, Applied, Call, Hold
from tests.fakes.store import FakeStore
from tests.fakes.text import CodePointSegmenter
from tests.fakes.tiktok import FakeTikTok, TikTokFailure
from tests.fakes.webhooks import FakeWebhookSender

__all__ = [
    "NORMAL",
    "Applied",
    "Call",
    "CodePointSegmenter",
    "FakeClock",
    "FakeInstagram",
    "FakeMediaInspector",
    "FakeStore",
    "FakeTikTok",
    "FakeWebhookSender",
    "Hold",
    "IgFailure",
    "RecordingMetrics",
    "TikTokFailure",
]
