"""Generate Python code (messages, gRPC stubs and .pyi stubs) from proto/ into generated/.

`--check` regenerates into a temporary folder and fails if generated/ differs, so a
proto change without `make generate` cannot land.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "generated"


def generate(out_dir: Path) -> None:
    # proto/google/ holds googleapis' files vendored for buf (the google.api.http annotations);
    # their Python code comes from googleapis-common-protos, so only our own are compiled.
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / "distribution").rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Make the generated tree a regular package tree so every tool resolves it the same way.
    for generated_dir in {p.parent for p in out_dir.rglob("*_pb2.py")}:
        package_dir = generated_dir
        while package_dir != out_dir:
            (package_dir / "__init__.py").touch()
            package_dir = package_dir.parent


def differences(a: Path, b: Path) -> list[str]:
    def files(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.name != ".stamp"
        }

    fa, fb = files(a), files(b)
    diff = sorted(fa ^ fb)
    diff += sorted(f for f in fa & fb if not filecmp.cmp(a / f, b / f, shallow=False))
    return diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated/ is stale")
    opts = parser.parse_args()
    if opts.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            stale = differences(Path(tmp), OUT_DIR)
        if stale:
            print("generated/ is stale; run `make generate`. Differs:", *stale, sep="\n  ")
            return 1
        print("generated/ is up to date")
        return 0
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    OUT_DIR.mkdir()
    generate(OUT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
