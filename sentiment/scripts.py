"""Soothing and de-escalation scripts: choose the best one, fill it from the customer profile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import ConfigurationError
from core.files import read_jsonl
from core.models import Emotion
from core.templates import FALLBACKS, fill_placeholders


class SoothingScript(BaseModel):
    """A script the agent can say, with placeholders such as ``{客户称呼}``."""

    id: str
    emotion: str = Field(description="angry, anxious, dissatisfied or any")
    situation: str = "general"
    title: str
    text: str = Field(min_length=1)


class FilledScript(BaseModel):
    """A script with its placeholders filled, ready to show."""

    id: str
    title: str
    text: str
    emotion: str
    situation: str


def fill(script: SoothingScript, profile: Mapping[str, str]) -> FilledScript:
    """Replace placeholders from the profile, else with a neutral fallback (pure)."""

    return FilledScript(
        id=script.id,
        title=script.title,
        text=fill_placeholders(script.text, profile, FALLBACKS),
        emotion=script.emotion,
        situation=script.situation,
    )


class ScriptLibrary:
    """All soothing scripts, with the best-match rule."""

    def __init__(self, scripts: list[SoothingScript]) -> None:
        self.scripts = scripts

    @classmethod
    def load(cls, path: Path) -> ScriptLibrary:
        """Read ``soothing.jsonl``.

        Raises:
            ConfigurationError: missing file or a bad line, naming it.
        """
        return cls(read_jsonl(path, SoothingScript, error=ConfigurationError))

    def best(self, emotion: Emotion, situation: str) -> SoothingScript | None:
        """Exact emotion and situation, then the emotion's general script, then a script for
        any emotion in that situation, then any general script; first in file order wins."""
        preferences = [
            (emotion.value, situation),
            (emotion.value, "general"),
            ("any", situation),
            ("any", "general"),
        ]
        for wanted in preferences:
            for script in self.scripts:
                if (script.emotion, script.situation) == wanted:
                    return script
        return None
