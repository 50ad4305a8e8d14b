"""Loopback emulators of the platforms' HTTP APIs, used by `make run` and the tests.

README.md (next to this file) describes them; importing this package loads nothing.
"""
