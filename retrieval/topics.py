"""What a conversation is about: the call-level topic state, and the searches formed from it.

Callers name the topic once ("我跑网约车追尾了，你们说不赔") and then refer to it ("凭什么不赔？",
"多久能赔？"). The state keeps the facets said so far (vehicle, usage, event, coverage, dispute,
what is asked), each with the turn that said it; an agent's correction wins over later turns. The
searches are formed from the state plus what the last turn adds, with filler and incidental words
taken out, one search per event when the call has several.

The lexicon is a data file trainers edit (``data/terms/topics.yaml``). Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.files import check_patterns, read_yaml
from core.masking import redact

MAX_EVENTS = 3  # the events a call keeps (most recent last)
MAX_TOPICS = 2  # searches formed per turn: one per recent event
MIN_OWN_CHARS = 6  # a turn saying less than this refers to what was said before


class Facet(StrEnum):
    """One dimension of what a call is about."""

    VEHICLE = "vehicle"
    USAGE = "usage"
    EVENT = "event"
    COVERAGE = "coverage"
    DISPUTE = "dispute"
    ASK = "ask"


FACET_LABELS: dict[Facet, tuple[str, str]] = {
    Facet.VEHICLE: ("车辆", "vehicle"),
    Facet.USAGE: ("使用性质", "usage"),
    Facet.EVENT: ("事件", "event"),
    Facet.COVERAGE: ("险种", "coverage"),
    Facet.DISPUTE: ("争议", "dispute"),
    Facet.ASK: ("诉求", "asks"),
}


class FacetValue(BaseModel):
    """One value of a facet as the lexicon writes it."""

    model_config = ConfigDict(frozen=True)

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    terms: str = Field(min_length=1, description="formal terms a search for this value uses")
    exclusion: str = Field(default="", description="terms of the exclusion at stake in a refusal")

    _compiles = field_validator("patterns")(check_patterns)

    def label(self, language: str) -> str:
        """The value's name in the console's language."""
        return self.en if language == "en" else self.zh


class Sense(BaseModel):
    """An expression with two meanings: it means ``meaning`` unless ``unless`` matches."""

    model_config = ConfigDict(frozen=True)

    expression: str = Field(min_length=1)
    meaning: str = Field(min_length=1)
    unless: str = ""

    _compiles = field_validator("expression", "unless")(lambda value: check_patterns([value])[0])


class TopicLexicon(BaseModel):
    """The whole ``topics.yaml``: filler, incidental nouns, senses and the facet values."""

    filler: list[str] = Field(default_factory=list)
    incidental: list[str] = Field(default_factory=list)
    senses: list[Sense] = Field(default_factory=list)
    facets: dict[Facet, dict[str, FacetValue]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TopicLexicon:
        """Read and validate the lexicon.

        Raises:
            ConfigurationError: missing file, bad YAML, an unknown facet or a bad pattern.
        """
        return read_yaml(path, cls)

    def value(self, facet: Facet, name: str) -> FacetValue | None:
        """A facet value by name, or None."""
        return self.facets.get(facet, {}).get(name)

    @cached_property
    def _compiled(self) -> list[tuple[Facet, str, re.Pattern[str]]]:
        return [
            (facet, name, re.compile("|".join(f"(?:{p})" for p in value.patterns)))
            for facet, values in self.facets.items()
            for name, value in values.items()
        ]

    @cached_property
    def _filler(self) -> re.Pattern[str] | None:
        words = sorted({w for w in self.filler if w}, key=len, reverse=True)
        return re.compile("|".join(re.escape(w) for w in words)) if words else None

    @cached_property
    def _incidental(self) -> re.Pattern[str] | None:
        words = sorted({w for w in self.incidental if w}, key=len, reverse=True)
        return re.compile("|".join(re.escape(w) for w in words)) if words else None

    def resolve_senses(self, text: str) -> str:
        """The text with each two-meaning expression replaced by its meaning where its context
        does not say otherwise (骑电动车的大爷 → 骑非机动车的大爷; 我家电动车充电 stays)."""
        for sense in self.senses:
            if sense.unless and re.search(sense.unless, text):
                continue
            text = re.sub(sense.expression, sense.meaning, text)
        return text

    def detect(self, text: str, disputing: bool = False) -> dict[Facet, list[str]]:
        """The facet values the text names, in lexicon order per facet (senses resolved first).

        In a dispute (said before, or in this text) incidental nouns name nothing: 保费 in
        "我每年交那么多保费你们还不赔" is not a premium question.
        """
        resolved = self.resolve_senses(text)
        found = self._find(resolved)
        if (disputing or Facet.DISPUTE in found) and self._incidental is not None:
            found = self._find(self._incidental.sub(" ", resolved))
        return found

    def _find(self, resolved: str) -> dict[Facet, list[str]]:
        found: dict[Facet, list[str]] = {}
        for facet, name, pattern in self._compiled:
            if pattern.search(resolved):
                found.setdefault(facet, []).append(name)
        return found

    def content(self, text: str, disputing: bool = False) -> str:
        """What the text says once filler (and, in a dispute, incidental nouns) is taken out:
        the only words of a turn a search may use. Empty when nothing is left.

        What the caller disputes or asks (不赔, 多久, 能赔吗) is taken out too: the state's
        searches carry it in formal terms, bound to the topic it is about. Personal numbers (ID,
        mobile, card) are masked first: they answer nothing, and the state is stored.
        """
        resolved = self.resolve_senses(redact(text))
        for facet, _name, pattern in self._compiled:
            if facet in (Facet.DISPUTE, Facet.ASK):
                resolved = pattern.sub(" ", resolved)
        if self._filler is not None:
            resolved = self._filler.sub(" ", resolved)
        if disputing and self._incidental is not None:
            resolved = self._incidental.sub(" ", resolved)
        kept = re.sub(r"[^\w\u4e00-\u9fff]+", " ", resolved)
        return " ".join(part for part in kept.split() if len(part) > 1 or part.isdigit())


class TopicValue(BaseModel):
    """One facet value the call holds, with the caller turn that said it."""

    model_config = ConfigDict(frozen=True)

    facet: Facet
    name: str
    turn: int = Field(ge=0, description="index of the turn that said it")
    corrected: bool = Field(default=False, description="set by the agent; turns do not change it")


class TopicState(BaseModel):
    """What the call is about so far. Single-valued facets hold one value; events hold the
    last ``MAX_EVENTS``; a facet the agent corrected keeps the correction (or stays cleared)."""

    model_config = ConfigDict(frozen=True)

    values: list[TopicValue] = Field(default_factory=list)
    locked: list[Facet] = Field(
        default_factory=list, description="facets the agent corrected; turns do not change them"
    )
    context: str = Field(
        default="",
        max_length=200,
        description="the caller's last words with content (filler out): what a short turn "
        "such as 那这个能赔吗 refers to",
    )

    def of(self, facet: Facet) -> list[TopicValue]:
        """The values of one facet, oldest first."""
        return [v for v in self.values if v.facet is facet]

    def names(self, facet: Facet) -> list[str]:
        """The value names of one facet, oldest first."""
        return [v.name for v in self.of(facet)]

    def first(self, facet: Facet) -> str | None:
        """The value of a single-valued facet, or None."""
        names = self.names(facet)
        return names[-1] if names else None

    @property
    def empty(self) -> bool:
        """True before anything topical was said."""
        return not self.values

    def correct(self, facet: Facet, name: str | None, turn: int = 0) -> TopicState:
        """The agent's one-click correction: the facet holds ``name`` (or nothing) from now on.

        Args:
            facet: the facet corrected.
            name: the value it holds, or None to clear it.
            turn: the turn at which the agent corrected it.
        """
        kept = [v for v in self.values if v.facet is not facet]
        if name is not None:
            kept.append(TopicValue(facet=facet, name=name, turn=turn, corrected=True))
        locked = [*dict.fromkeys([*self.locked, facet])]
        return TopicState(values=kept, locked=locked, context=self.context)

    def with_turn(self, found: dict[Facet, list[str]], turn: int, own: str = "") -> TopicState:
        """The state after a caller turn that names ``found`` and says ``own`` (filler out)."""
        values = list(self.values)
        for facet, names in found.items():
            if facet in self.locked or not names:
                continue
            if facet is Facet.EVENT:
                current = [v for v in values if v.facet is facet and v.name not in names]
                said = [TopicValue(facet=facet, name=n, turn=turn) for n in names]
                events = (current + said)[-MAX_EVENTS:]
                values = [v for v in values if v.facet is not facet] + events
            else:
                # the last value named in the turn wins (a turn rarely names two)
                values = [v for v in values if v.facet is not facet]
                values.append(TopicValue(facet=facet, name=names[-1], turn=turn))
        context = own[-200:] if len(own) >= MIN_OWN_CHARS else self.context
        return TopicState(values=values, locked=self.locked, context=context)


class TopicQuery(BaseModel):
    """One search formed from the conversation, and the part of it that search answers."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    values: list[TopicValue] = Field(description="the state values the search is built on")
    own: str = Field(default="", description="what the last turn itself added")

    def focus(self, lexicon: TopicLexicon, language: str = "zh") -> str:
        """Which part of the conversation this search answers, in words (网约车 · 拒赔争议)."""
        labels: list[str] = []
        for value in self.values:
            spec = lexicon.value(value.facet, value.name)
            if spec is not None and spec.label(language) not in labels:
                labels.append(spec.label(language))
        return " · ".join(labels) if labels else f"“{self.own[:16]}”"


class TopicTracker:
    """Reads turns into the state and forms searches from it (pure, over one lexicon)."""

    def __init__(self, lexicon: TopicLexicon) -> None:
        self.lexicon = lexicon

    def update(self, state: TopicState, text: str, turn: int) -> TopicState:
        """The state after a caller turn."""
        found = self.lexicon.detect(text, state.first(Facet.DISPUTE) is not None)
        disputing = state.first(Facet.DISPUTE) is not None or Facet.DISPUTE in found
        return state.with_turn(found, turn, self.lexicon.content(text, disputing=disputing))

    def queries(self, state: TopicState, text: str) -> list[TopicQuery]:
        """The searches for the conversation after ``text``: what the turn itself says (filler
        out) first, then one per recent event (the last first) with the other facets. None when
        neither the turn nor the state carries a topic (a greeting, 嗯嗯好的): no card is shown
        for filler."""
        own = self.lexicon.content(text, disputing=state.first(Facet.DISPUTE) is not None)
        queries = [TopicQuery(text=own, values=[], own=own)] if own else []
        shared = [v for v in state.values if v.facet is not Facet.EVENT]
        events = state.of(Facet.EVENT)[-MAX_TOPICS:][::-1]
        groups: list[list[TopicValue]] = [[e, *shared] for e in events] or [shared]
        # a short turn (那这个能赔吗) is about what the caller said before: say it again
        said = own if len(own) >= MIN_OWN_CHARS or not state.context else f"{state.context} {own}"
        for values in groups:
            if not values:
                continue
            parts = [said.strip()] if said.strip() else []
            parts += [self._terms(v, state) for v in self._ordered(values)]
            query = " ".join(p for p in parts if p).strip()
            if query:
                queries.append(TopicQuery(text=query, values=values, own=own))
        return queries

    @staticmethod
    def _ordered(values: Sequence[TopicValue]) -> list[TopicValue]:
        order = list(Facet)
        return sorted(values, key=lambda v: order.index(v.facet))

    def _terms(self, value: TopicValue, state: TopicState) -> str:
        spec = self.lexicon.value(value.facet, value.name)
        if spec is None:
            return ""
        refusal = state.first(Facet.DISPUTE) == "refusal"
        return f"{spec.terms} {spec.exclusion}".strip() if refusal else spec.terms
