"""Every relative link in the repository's Markdown resolves: the file or folder exists, and
an anchor (`page.md#section`, `#section`) names a heading of that page as GitHub spells it.
Nothing points at the folder of notes beside the repository, which a clone does not have."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.support.paths import ROOT

# [text](target) and [label]: target, outside code spans and blocks.
INLINE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return sorted(ROOT / name for name in listed if (ROOT / name).exists() and "node_modules" not in name)


def _prose(text: str) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to -."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(path: Path) -> list[str]:
    text = _prose(path.read_text(encoding="utf-8"))
    return [*INLINE.findall(text), *IMAGE.findall(text), *REFERENCE.findall(text)]


def broken(path: Path, target: str) -> str | None:
    """Why `target`, linked from `path`, does not resolve (None when it does)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
        return None
    file_part, _, anchor = target.partition("#")
    resolved = (path.parent / file_part).resolve() if file_part else path
    try:
        resolved.relative_to(ROOT)
    except ValueError:
        return "points outside the repository"
    if not resolved.exists():
        return "names no file"
    if anchor:
        if resolved.suffix != ".md" or resolved.is_dir():
            return None  # an anchor into code is a line reference, left to the reader
        if anchor not in anchors(resolved):
            return f"names no heading of {resolved.relative_to(ROOT)}"
    return None


FILES = markdown_files()


def test_the_repository_has_its_docs() -> None:
    names = {str(p.relative_to(ROOT)) for p in FILES}
    assert {"README.md", "docs/README.md", "docs/api.md", "docs/configuration.md", "docs/replicas.md"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    problems = [f"{target}: {why}" for target in links(path) if (why := broken(path, target))]
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_every_docs_page_is_listed_in_the_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "README.md")
    assert [page for page in pages if f"]({page})" not in index] == []


# The folder of notes beside the repository, spelt in pieces so this file does not name it.
_BESIDE = "shared"
_POINTERS = rf"\.\./{_BESIDE}|/work/{_BESIDE}"


def test_no_file_points_at_the_folder_beside_the_repository() -> None:
    """A clone has no such folder: what a reader needs is written into docs/ with public sources."""
    found = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", _POINTERS, "--", "."],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout
    assert found == ""


def test_the_checker_sees_what_it_should() -> None:
    assert slug("Ids: one name, one meaning") == "ids-one-name-one-meaning"
    assert slug("`WatchPublishes`: a resumable stream") == "watchpublishes-a-resumable-stream"
    assert slug("HTTP/JSON") == "httpjson"
    assert slug("grpc's own log lines") == "grpcs-own-log-lines"
    page = ROOT / "docs" / "api.md"
    assert broken(page, "nowhere.md") == "names no file"
    assert broken(page, "#no-such-heading") == "names no heading of docs/api.md"
    assert broken(page, "../../elsewhere/x.md") == "points outside the repository"
    assert broken(page, "configuration.md#security") is None
    assert "#post-options" in links(page) and "configuration.md#security" not in links(ROOT / "README.md")
