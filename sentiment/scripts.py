"""Soothing and de-escalation scripts: choose the best one, fill it from the customer profile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from core.errors import ConfigurationError
from core.files import read_jsonl
from core.models import Emotion
from core.templates import FALLBACKS, fill_placeholders

ANY_EMOTION = "any"
SCRIPT_EMOTIONS = (*(e.value for e in Emotion), ANY_EMOTION)


class SoothingScript(BaseModel):
    """A script the agent can say, with placeholders such as ``{客户称呼}``.

    Raises (when built):
        pydantic.ValidationError: an emotion that is neither a caller emotion nor ``any``, a blank
            situation or blank text (each message names the value).
    """

    id: str
    emotion: str = Field(description="a caller emotion (angry, anxious, ...) or any")
    situation: str = Field(
        default="general", description="the situation it fits, e.g. flood; general fits any"
    )
    title: str
    text: str = Field(min_length=1)

    @field_validator("emotion")
    @classmethod
    def _known_emotion(cls, emotion: str) -> str:
        if emotion not in SCRIPT_EMOTIONS:
            raise ValueError(
                f"script emotion {emotion!r} is not one of: {', '.join(SCRIPT_EMOTIONS)}"
            )
        return emotion

    @field_validator("situation")
    @classmethod
    def _has_situation(cls, situation: str) -> str:
        if not situation.strip():
            raise ValueError(
                "a script needs a scene: the situation it fits, e.g. flood (or general for any "
                "situation)"
            )
        return situation

    @field_validator("text")
    @classmethod
    def _has_words(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a script needs the words the agent says as text")
        return text


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
