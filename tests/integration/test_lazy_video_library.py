"""PyAV (FFmpeg's libraries, about 20 MB of a process's memory) is loaded when a video is
first inspected or made, never at start: a service that inspects no video never holds it."""

from __future__ import annotations

import subprocess
import sys


def test_starting_the_service_code_loads_no_video_library() -> None:
    script = "import sys, server.app, server.bootstrap, server.sandbox.media; print('av' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
