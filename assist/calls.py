"""Recorded calls: reading a call file and the catalogue of demo calls."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from conversation.models import Turn
from core.errors import ConfigurationError
from core.files import read_jsonl


class DemoCall(BaseModel):
    """One recorded demo call as listed in ``data/demo/calls/index.json``."""

    file: str = Field(pattern=r"^[\w.-]+\.jsonl$")
    title_zh: str
    title_en: str
    customer_hint: str = ""
    scenes: list[str] = Field(
        default_factory=list,
        description="the cue-book situations the call is about (gold for the script-fit bench)",
    )

    def title(self, language: str) -> str:
        """The call's title in the console's language."""
        return self.title_en if language == "en" else self.title_zh


def read_call(path: Path) -> list[Turn]:
    """Turns of a call file, validated before any work is done.

    Raises:
        PolicyDeskError: unreadable file, bad JSON, or an invalid turn (naming the line).
    """
    return read_jsonl(path, Turn)


def demo_calls(directory: Path) -> list[DemoCall]:
    """The recorded demo calls, in catalogue order.

    Raises:
        ConfigurationError: a missing or invalid index, or an entry whose file is missing.
    """
    index = directory / "index.json"
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
        calls = [DemoCall.model_validate(e) for e in entries]
    except (OSError, json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise ConfigurationError(f"{index}: not a valid demo-call index ({exc})") from exc
    missing = [c.file for c in calls if not (directory / c.file).is_file()]
    if missing:
        raise ConfigurationError(f"{index}: listed calls are missing: {', '.join(missing)}")
    return calls
