"""Soothing and de-escalation scripts: choose the best one, fill it from the customer profile."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from core.errors import ConfigurationError
from core.files import read_jsonl
from core.models import Emotion
from core.templates import FALLBACKS, fill_placeholders
from sentiment.cues import GENERAL_SITUATION

ANY_EMOTION = "any"
GENERAL = GENERAL_SITUATION  # the scene of a script that fits any call
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


def unknown_scenes(
    scripts: Sequence[SoothingScript], situations: Collection[str]
) -> list[tuple[str, str]]:
    """(script id, situation) of each script whose scene the cue book cannot tell (pure).

    A script is offered only when the call is about its situation, and a call is about the
    situations the cue book finds in the caller's words: a script for any other situation would
    never be offered (a typo such as ``claim_refuse``), or, worse, suggests a scene the rules do
    not know. ``general`` fits any call.
    """
    known = {*situations, GENERAL}
    return [(s.id, s.situation) for s in scripts if s.situation not in known]


def check_scenes(scripts: Sequence[SoothingScript], situations: Collection[str]) -> None:
    """Refuse scripts whose situation is not one the cue book knows.

    Raises:
        ConfigurationError: naming each script, its situation and the known situations.
    """
    unknown = unknown_scenes(scripts, situations)
    if unknown:
        listed = "; ".join(f"{i}: {s!r}" for i, s in unknown)
        raise ConfigurationError(
            f"scripts with a situation the cue book does not know ({listed}); "
            f"known situations: {', '.join([*situations, GENERAL])}"
        )


class ScriptLibrary:
    """All soothing scripts, with the best-match rule."""

    def __init__(
        self, scripts: list[SoothingScript], situations: Collection[str] | None = None
    ) -> None:
        """
        Args:
            scripts: in preference order.
            situations: the cue book's situations; when given, every script's situation must be
                one of them or ``general``.

        Raises:
            ConfigurationError: a script whose situation is not known (named).
        """
        if situations is not None:
            check_scenes(scripts, situations)
        self.scripts = scripts

    @classmethod
    def load(cls, path: Path, situations: Collection[str] | None = None) -> ScriptLibrary:
        """Read ``soothing.jsonl``.

        Args:
            path: the file.
            situations: the cue book's situations, checked as by the constructor.

        Raises:
            ConfigurationError: missing file, a bad line, or a script whose situation the cue
                book does not know, naming it.
        """
        scripts = read_jsonl(path, SoothingScript, error=ConfigurationError)
        try:
            return cls(scripts, situations)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{path}: {exc}") from exc

    def best(self, emotion: Emotion, situation: str) -> SoothingScript | None:
        """Exact emotion and situation, then the emotion's general script, then a script for
        any emotion in that situation, then any general script; first in file order wins.

        Only a script for ``situation`` or a general one is ever returned: pass the situation
        the call is about (``sentiment.mood.call_situation``), so a script's scene always
        matches the call.
        """
        preferences = [
            (emotion.value, situation),
            (emotion.value, GENERAL),
            (ANY_EMOTION, situation),
            (ANY_EMOTION, GENERAL),
        ]
        for wanted in preferences:
            for script in self.scripts:
                if (script.emotion, script.situation) == wanted:
                    return script
        return None
