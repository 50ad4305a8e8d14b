"""The JSON log line (server/logs.py): a logged exception's traceback is part of the line,
with tokens in it redacted like those of the message."""

from __future__ import annotations

import json
import logging
import sys

from server.logs import JsonFormatter


def test_an_exception_is_logged_with_its_traceback_and_its_tokens_redacted() -> None:
    try:
        raise ValueError("refresh failed: access_token=EAAB-secret-value, Authorization: Bearer abc.def")
    except ValueError:
        record = logging.LogRecord("distribution.test", logging.ERROR, __file__, 1, "token refresh failed", (), None)
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["message"]) == ("ERROR", "token refresh failed")
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: refresh failed: access_token=[REDACTED], Authorization: Bearer [REDACTED]" in line["exception"]
    assert "EAAB-secret-value" not in json.dumps(line) and "abc.def" not in json.dumps(line)
