"""`python -m bench.untraced_server`: runs the service (`python -m server`, same environment)
without the OpenTelemetry SDK, the baseline of case 11: no OTEL_* variable is seen, and any
import of `opentelemetry.sdk` or an exporter fails (so the run also proves a service without
an endpoint never loads them). The service's code is untouched; this only launches it."""

from __future__ import annotations

import importlib.abc
import os
import runpy
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_BLOCKED = ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation")


class _NoSdk(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname.startswith(_BLOCKED):
            raise ImportError(f"{fullname} is not available in the untraced baseline")
        return None


def main() -> None:
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        del os.environ[name]
    sys.meta_path.insert(0, _NoSdk())
    runpy.run_module("server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
