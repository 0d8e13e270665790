"""Turn source paths (files or folders) into validated passages, or fail naming the file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.errors import IngestError
from core.models import Passage, PassageKind
from knowledge.parsing import parse_jsonl, split_document
from knowledge.readers import (
    SUPPORTED_SUFFIXES,
    check_not_link,
    decode_text,
    read_capped,
    read_document,
)

IGNORED_NAMES = {"OUTLINE.md", "README.md"}


def expand_sources(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus supported files found under named folders (sorted).

    Files inside folders with unsupported suffixes or a reserved name (README.md, OUTLINE.md) are
    skipped; a file named directly is always read, so an unsupported one is reported.

    Raises:
        IngestError: a path that does not exist, or a folder with no supported file.
    """
    files: list[Path] = []
    for path in paths:
        check_not_link(path)
        if path.is_dir():
            found = sorted(
                p
                for p in _walk(path)
                if p.suffix.lower() in SUPPORTED_SUFFIXES
                and p.name not in IGNORED_NAMES
                and not p.name.startswith(".")
            )
            if not found:
                raise IngestError(path, "the folder has no supported files")
            for file in found:
                check_not_link(file)  # a link inside a folder is refused too, not skipped
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise IngestError(path, "no such file or folder")
    return files


def _walk(folder: Path) -> list[Path]:
    """Every file and file link under a folder, without following links to folders."""
    found: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        found += [Path(root) / d for d in dirs if (Path(root) / d).is_symlink()]
        found += [Path(root) / n for n in names]
    return found


def load_file(path: Path, default_kind: PassageKind | None = None) -> list[Passage]:
    """Read and split one source file into passages."""
    if path.suffix.lower() == ".jsonl":
        raw = read_capped(path) if path.exists() else b""
        if not raw.strip():
            raise IngestError(path, "the file is empty")
        return parse_jsonl(decode_text(raw, path), path)
    return split_document(read_document(path), path, default_kind)


def load_sources(
    paths: Iterable[Path], default_kind: PassageKind | None = None
) -> tuple[list[Path], list[Passage]]:
    """Load every source, checking ids are unique across all of them.

    Returns:
        The files read and their passages, in order.

    Raises:
        IngestError: the first bad file, or an id defined in two files (both named).
    """
    files = expand_sources(paths)
    passages: list[Passage] = []
    owner: dict[str, str] = {}
    for path in files:
        for passage in load_file(path, default_kind):
            if passage.id in owner:
                raise IngestError(
                    path, f"duplicate id {passage.id}: already defined in {owner[passage.id]}"
                )
            owner[passage.id] = str(path)
            passages.append(passage)
    return files, passages
