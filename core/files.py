"""Reading typed records from JSON Lines and YAML files, with errors that name file and line."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ValidationError

from core.errors import ConfigurationError, InvalidQueryError, PolicyDeskError

M = TypeVar("M", bound=BaseModel)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("the text is empty")
    return value


NonBlankText = Annotated[str, AfterValidator(_not_blank)]
"""A string with at least one non-space character (for texts read from files)."""


MAX_JSON_DEPTH = 32
"""JSON nested deeper than this is refused: no record of ours needs it, and a deep enough line
would otherwise end in a RecursionError."""


def json_depth(value: object) -> int:
    """How deeply a parsed JSON value nests (a scalar is 0), computed without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        else:
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def loads_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> object:
    """One JSON value, refusing one nested deeper than ``max_depth``.

    Raises:
        ValueError: invalid JSON (``json.JSONDecodeError``) or nested too deeply; the message
            says which.
    """
    # a cheap upper bound first: a line with no more brackets than the limit cannot exceed it
    if text.count("[") + text.count("{") > max_depth:
        try:
            value = json.loads(text)
        except RecursionError:
            raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
        if json_depth(value) > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")
        return value
    return json.loads(text)


def _first_problem(exc: ValidationError) -> str:
    problem = exc.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])


def read_jsonl(
    path: Path,
    model: type[M],
    error: type[PolicyDeskError] = PolicyDeskError,
    allow_empty: bool = False,
) -> list[M]:
    """Every non-blank line of a JSON Lines file as a validated model.

    Raises:
        error: an unreadable file, bad JSON or an invalid record (naming the line), or a file
            with no records unless ``allow_empty``.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the file ({exc})") from exc
    records: list[M] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = loads_json(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}: line {number}: invalid JSON ({exc.msg})") from exc
        except ValueError as exc:  # nested too deeply
            raise error(f"{path}: line {number}: {exc}") from exc
        try:
            records.append(model.model_validate(value))
        except ValidationError as exc:
            raise error(f"{path}: line {number}: {_first_problem(exc)}") from exc
    if not records and not allow_empty:
        raise error(f"{path}: the file has no records")
    return records


def read_yaml(path: Path, model: type[M]) -> M:
    """A YAML file as a validated model (trainer-edited rule files).

    Raises:
        ConfigurationError: missing file, bad YAML or an invalid entry, naming the file.
    """
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        raise ConfigurationError(f"{path}: invalid entry: {exc}") from exc


def check_patterns(patterns: list[str]) -> list[str]:
    """Field validator body: every pattern must be a valid Python regular expression."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
    return patterns


def clean_text(text: str, max_chars: int, noun: str = "text") -> str:
    """The stripped text, refusing empty or over-long input.

    Raises:
        InvalidQueryError: empty, or longer than ``max_chars``.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidQueryError(f"the {noun} is empty")
    if len(stripped) > max_chars:
        raise InvalidQueryError(
            f"the {noun} has {len(stripped)} characters; the limit is {max_chars}"
        )
    return stripped


def write_atomically(path: Path, text: str) -> None:
    """Write a UTF-8 text file whole or not at all (a temporary file, then a rename).

    Raises:
        PolicyDeskError: the folder does not exist or cannot be written.
    """
    folder = path.parent
    if not folder.is_dir():
        raise PolicyDeskError(f"cannot write {path}: the folder {folder} does not exist")
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(staging, path)
    except OSError as exc:
        Path(staging).unlink(missing_ok=True)
        raise PolicyDeskError(f"cannot write {path}: {exc.strerror or exc}") from exc
