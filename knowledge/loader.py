"""Turn source paths (files or folders) into validated passages, or fail naming the file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.errors import IngestError
from core.models import Passage, PassageKind
from knowledge.parsing import parse_jsonl, split_document
from knowledge.readers import SUPPORTED_SUFFIXES, decode_text, read_document

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
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and p.name not in IGNORED_NAMES
                and not p.name.startswith(".")
            )
            if not found:
                raise IngestError(path, "the folder has no supported files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise IngestError(path, "no such file or folder")
    return files


def load_file(path: Path, default_kind: PassageKind | None = None) -> list[Passage]:
    """Read and split one source file into passages."""
    if path.suffix.lower() == ".jsonl":
        raw = path.read_bytes() if path.exists() else b""
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
