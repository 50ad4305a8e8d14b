"""Generate Python code (messages, gRPC stubs and .pyi stubs) from proto/ into generated/,
and docs/configuration.md from the settings table (server/config/table.py).

`--check` regenerates into a temporary folder and fails if generated/ differs, and fails if
the configuration page differs from the table, so a proto or settings change without
`make generate` cannot land.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts import settings_page
from scripts.openapi import openapi_document

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "generated"
# The HTTP/JSON API's OpenAPI document, served by the gateway (server/http_gateway/).
OPENAPI = Path("openapi") / "distribution.json"


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
    write_openapi(protos, well_known, out_dir / OPENAPI)
    # Make the generated tree a regular package tree so every tool resolves it the same way.
    for generated_dir in {p.parent for p in out_dir.rglob("*_pb2.py")}:
        package_dir = generated_dir
        while package_dir != out_dir:
            (package_dir / "__init__.py").touch()
            package_dir = package_dir.parent


def write_openapi(protos: list[str], well_known: Path, target: Path) -> None:
    """The OpenAPI document, from the contract's descriptors with their comments."""
    with tempfile.TemporaryDirectory() as tmp:
        descriptor_set = Path(tmp) / "contract.binpb"
        args = [
            "protoc", f"-I{PROTO_DIR}", f"-I{well_known}", f"--descriptor_set_out={descriptor_set}",
            "--include_imports", "--include_source_info", *protos,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed (descriptor set)")
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    document = openapi_document(files, title="Distribution API", version="v1")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
        if not settings_page.is_fresh(ROOT):
            stale.append(f"../{settings_page.PAGE} (from server/config/table.py)")
        if stale:
            print("generated/ is stale; run `make generate`. Differs:", *stale, sep="\n  ")
            return 1
        print("generated/ and the configuration page are up to date")
        return 0
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    OUT_DIR.mkdir()
    generate(OUT_DIR)
    settings_page.write(ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
