"""Loopback emulators of the platforms' HTTP APIs, used by `make run` and the tests."""
