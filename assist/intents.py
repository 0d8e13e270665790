"""The caller's need from the recent caller turns (pure), with trainer-editable keywords."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from assist.models import Need
from conversation.intents import INTENT_LABELS, Intent
from core.files import check_patterns, read_yaml

RECENCY = (1.0, 0.6, 0.3)  # weight of the latest caller turn, the one before, and so on


class IntentSpec(BaseModel):
    """One intent as written in ``data/assist/intents.yaml`` (an intent of the one taxonomy,
    ``conversation.intents``)."""

    id: Intent
    keywords: list[str] = Field(min_length=1)
    reply: str = Field(min_length=1)

    _compiles = field_validator("keywords")(check_patterns)


class IntentFile(BaseModel):
    """The whole intents file."""

    intents: list[IntentSpec] = Field(min_length=1)


@dataclass(frozen=True)
class _Compiled:
    spec: IntentSpec
    patterns: tuple[re.Pattern[str], ...]


class IntentBook:
    """Scores intents over the recent caller turns."""

    def __init__(self, spec: IntentFile) -> None:
        self.intents = spec.intents
        self._compiled = [
            _Compiled(i, tuple(re.compile(k) for k in i.keywords)) for i in spec.intents
        ]

    @classmethod
    def load(cls, path: Path) -> IntentBook:
        """Read and validate the intents file.

        Raises:
            ConfigurationError: missing file, bad YAML, an invalid entry or regex.
        """
        return cls(read_yaml(path, IntentFile))

    def spec(self, intent: str) -> IntentSpec | None:
        """The intent's entry, or None."""
        return next((i for i in self.intents if i.id == intent), None)

    def assess(self, caller_turns: Sequence[str]) -> Need:
        """The best intent over the last caller turns (latest weighs most); ``other`` if none."""
        recent = list(reversed(caller_turns[-len(RECENCY) :]))
        best = Need()
        for compiled in self._compiled:
            score = 0.0
            matched: list[str] = []
            for weight, text in zip(RECENCY, recent, strict=False):
                for pattern in compiled.patterns:
                    found = pattern.search(text)
                    if found:
                        score += weight
                        matched.append(found.group(0))
            if score > best.score:
                best = Need(
                    intent=compiled.spec.id,
                    label=INTENT_LABELS[compiled.spec.id],
                    score=round(score, 3),
                    matched=list(dict.fromkeys(matched)),
                )
        return best
