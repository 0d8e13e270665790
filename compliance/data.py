"""Labelled agent replies (``docs/compliance_labelling.md``) and the sentences training reads.

A reply is one agent turn, labelled compliant or with the red-line categories it crosses and the
exact words (the evidence). The judge reads sentences, so a reply becomes training units: every
sentence of a compliant reply is a negative; the sentences of a violation that hold its evidence
are positives of its first category. The other sentences of a violation are left out: an author
marks one piece of evidence, and a second offending sentence must not be taught as compliant.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import PolicyDeskError
from core.files import read_jsonl
from core.rules import sentences
from prompts.guard import RuleCategory


class LabelledReply(BaseModel):
    """One agent reply as an author labelled it.

    Raises (when built):
        pydantic.ValidationError: a violation without categories, a compliant reply with some,
            or evidence that is not in the text (each message names the problem).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    author: str = Field(min_length=1)
    text: str = Field(min_length=1)
    compliant: bool
    categories: list[RuleCategory] = Field(default_factory=list)
    evidence: str = ""
    near_miss: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> LabelledReply:
        if self.compliant and self.categories:
            raise ValueError(f"{self.id}: a compliant reply lists categories")
        if not self.compliant and not self.categories:
            raise ValueError(f"{self.id}: a violation names no category")
        if self.evidence and self.evidence not in self.text:
            raise ValueError(f"{self.id}: the evidence {self.evidence!r} is not in the text")
        return self


class SentenceUnit(BaseModel):
    """One sentence training reads: its reply, its author and its label."""

    model_config = ConfigDict(frozen=True)

    reply: str
    author: str
    text: str
    violation: bool
    category: RuleCategory | None = None


def load_replies(paths: Sequence[Path]) -> list[LabelledReply]:
    """Every labelled reply in the files, in order.

    Raises:
        PolicyDeskError: a missing or malformed file, a bad record (naming file and line) or an
            id used twice.
    """
    replies: list[LabelledReply] = []
    for path in paths:
        replies.extend(read_jsonl(path, LabelledReply))
    ids = [r.id for r in replies]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise PolicyDeskError(f"reply ids used twice: {', '.join(twice[:5])}")
    return replies


def reply_sentences(text: str) -> list[str]:
    """The sentences the guard judges (``core.rules.sentences``), stripped, blanks dropped."""
    return [s.text.strip() for s in sentences(text) if s.text.strip()]


def training_units(replies: Sequence[LabelledReply]) -> list[SentenceUnit]:
    """The sentences of the replies with their labels (see the module docstring).

    A violation without evidence counts as one unit, the whole reply.
    """
    units: list[SentenceUnit] = []
    for reply in replies:
        units.extend(
            SentenceUnit(
                reply=reply.id,
                author=reply.author,
                text=text,
                violation=not reply.compliant,
                category=None if reply.compliant else reply.categories[0],
            )
            for text in _labelled_sentences(reply)
        )
    return units


def _labelled_sentences(reply: LabelledReply) -> list[str]:
    """All sentences of a compliant reply; the whole of a violation without evidence; else the
    sentences its evidence overlaps."""
    if reply.compliant:
        return reply_sentences(reply.text)
    if not reply.evidence:
        return [reply.text.strip()]
    at = reply.text.index(reply.evidence)
    end = at + len(reply.evidence)
    return [
        segment.text.strip()
        for segment in sentences(reply.text)
        if segment.text.strip() and segment.start < end and at < segment.end
    ]
