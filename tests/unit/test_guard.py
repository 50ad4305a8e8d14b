"""The unit layer's guard: a socket, a thread or a file fails the test."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

import pytest

from tests.unit.conftest import Forbidden, Guard


def test_opening_a_socket_is_refused(no_socket_thread_or_file: Guard) -> None:
    with pytest.raises(Forbidden, match="open a socket"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(Forbidden, match="connect"):
        socket.create_connection(("127.0.0.1", 9))
    assert no_socket_thread_or_file.touched == ["open a socket", "connect"]
    no_socket_thread_or_file.touched.clear()


def test_starting_a_thread_is_refused(no_socket_thread_or_file: Guard) -> None:
    with pytest.raises(Forbidden, match="start a thread"):
        threading.Thread(target=lambda: None, name="worker").start()
    no_socket_thread_or_file.touched.clear()


def test_opening_a_file_is_refused(no_socket_thread_or_file: Guard) -> None:
    target = Path("/nonexistent/unit-layer-file")
    with pytest.raises(Forbidden, match="open a file"):
        open(target, "w")  # noqa: SIM115
    with pytest.raises(Forbidden, match="open a file"):
        target.write_text("x")
    with pytest.raises(Forbidden, match="open a file"):
        os.open(target, os.O_RDONLY)
    no_socket_thread_or_file.touched.clear()


async def test_the_event_loop_itself_still_runs() -> None:
    await asyncio.sleep(0)
    assert asyncio.get_running_loop().is_running()
