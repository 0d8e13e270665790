"""The one pattern-rule matcher: regular expressions with ``unless`` exceptions (pure).

The cue rules (``sentiment.cues``), the compliance guard (``prompts.guard``) and the chat message
rules (``chatbot.understanding``) share one idea: a rule fires where one of its ``patterns``
matches, unless one of its ``unless`` patterns matches nearby. "Nearby" is the scope, made
explicit here:

- a *segmenter* (a named pure function: ``sentences``, ``clauses``, ``message_clauses``,
  ``whole``) cuts the text into segments, and every pattern is searched one segment at a time, so
  a match never spans two segments and ``^``/``$`` anchor at a segment's ends;
- a rule's ``UnlessScope`` says whether an ``unless`` match cancels the rule in its own segment
  only, or in the whole text;
- an ``Occurrence`` says how many matches a rule reports per segment.

Each caller keeps its own YAML model, its validation (``core.files.check_patterns`` is the one
pattern validator) and its own result type; this module only compiles and matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# ------------------------------------------------------------------------------------ segments


class Segment(BaseModel):
    """One piece of a text that rules are matched in (``text == source[start:end]``)."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


Segmenter = Callable[[str], list[Segment]]
"""Cuts a text into segments, in order of position, none overlapping."""

# A run of text up to and including the marks that close it. Marks at the very start of the text
# close nothing and belong to no segment.
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_CLAUSE = re.compile(r"[^。！？!?；;，,\n]+[。！？!?；;，,\n]*")
# Chat messages are normalised first (half-width punctuation), so only half-width marks and 。、.
_MESSAGE_MARKS = re.compile(r"[。!?,;:、\n]+")
# a space next to a Chinese character separates clauses; spaces between ASCII words do not
_MESSAGE_SPACE = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")


def _runs(pattern: re.Pattern[str], text: str) -> list[Segment]:
    return [Segment(start=m.start(), end=m.end(), text=m.group(0)) for m in pattern.finditer(text)]


def sentences(text: str) -> list[Segment]:
    """Sentences: cut after 。！？!?；; and line breaks, not at commas (the compliance guard).

    Args:
        text: any text.

    Returns:
        The sentences in order, each with the marks that close it.
    """
    return _runs(_SENTENCE, text)


def clauses(text: str) -> list[Segment]:
    """Clauses: cut after 。！？!?；;，, and line breaks (the caller-emotion cues).

    Args:
        text: any text.

    Returns:
        The clauses in order, each with the marks that close it.
    """
    return _runs(_CLAUSE, text)


def _pieces(text: str, start: int, end: int, cut: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """The spans between the matches of ``cut`` in ``text[start:end]`` (as ``re.split``).

    The slice is searched on its own, so a lookbehind never sees what precedes it.
    """
    part = text[start:end]
    left = 0
    for found in cut.finditer(part):
        yield start + left, start + found.start()
        left = found.end()
    yield start + left, end


def message_clauses(normalised: str) -> list[Segment]:
    """Clauses of a normalised chat message (``chatbot.understanding.normalise``).

    Cut at runs of 。!?,;:、 and line breaks, then at a space next to a Chinese character; the
    marks are dropped, the ends stripped, empty clauses left out.

    Args:
        normalised: a normalised message.

    Returns:
        The non-empty clauses in order.
    """
    segments: list[Segment] = []
    for part_start, part_end in _pieces(normalised, 0, len(normalised), _MESSAGE_MARKS):
        for start, end in _pieces(normalised, part_start, part_end, _MESSAGE_SPACE):
            piece = normalised[start:end]
            stripped = piece.strip()
            if not stripped:
                continue
            start += len(piece) - len(piece.lstrip())
            segments.append(Segment(start=start, end=start + len(stripped), text=stripped))
    return segments


def whole(text: str) -> list[Segment]:
    """The whole text as one segment (none for an empty text).

    Args:
        text: any text.

    Returns:
        One segment, or none.
    """
    return [Segment(start=0, end=len(text), text=text)] if text else []


# --------------------------------------------------------------------------------------- rules


class UnlessScope(StrEnum):
    """Where a rule's ``unless`` match cancels the rule."""

    SEGMENT = "segment"
    """In the segment the ``unless`` matches in; other segments still fire."""
    TEXT = "text"
    """In the whole text, when an ``unless`` matches in any one segment."""


class Occurrence(StrEnum):
    """How many matches a rule reports per segment. An empty match never counts."""

    EVERY = "every"
    """Every non-overlapping match of every pattern (``re.finditer``)."""
    FIRST_PER_PATTERN = "first_per_pattern"
    """Each pattern's leftmost match (``re.search``)."""
    FIRST_PER_RULE = "first_per_rule"
    """The leftmost match of the first pattern, in rule order, that matches."""


@dataclass(frozen=True)
class PatternRule:
    """One compiled rule: its patterns, its ``unless`` patterns and their scope."""

    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    unless_scope: UnlessScope = UnlessScope.SEGMENT

    @classmethod
    def compile(
        cls,
        patterns: Iterable[str],
        unless: Iterable[str] = (),
        unless_scope: UnlessScope = UnlessScope.SEGMENT,
    ) -> PatternRule:
        """Compile a rule as written in a rule file.

        Args:
            patterns: regular expressions, one of which must match for the rule to fire.
            unless: regular expressions that cancel the rule where one matches.
            unless_scope: where an ``unless`` match cancels the rule.

        Returns:
            The compiled rule.

        Raises:
            re.error: a pattern does not compile (rule files validate their patterns with
                ``core.files.check_patterns`` before they get here).
        """
        return cls(
            tuple(re.compile(p) for p in patterns),
            tuple(re.compile(u) for u in unless),
            unless_scope,
        )

    def cancelled_by(self, segment: str) -> bool:
        """Whether one of the ``unless`` patterns occurs in the segment (an empty match counts,
        so an ``unless`` that matches empty text cancels everywhere)."""
        return any(u.search(segment) for u in self.unless)


class RuleMatch(BaseModel):
    """One place a rule fired."""

    model_config = ConfigDict(frozen=True)

    rule: int = Field(ge=0, description="the rule's position in the matcher's rule list")
    pattern: int = Field(ge=0, description="the pattern's position in the rule's patterns")
    segment: Segment
    start: int = Field(ge=0, description="where the match starts in the matched text")
    end: int = Field(ge=0)
    text: str = Field(min_length=1, description="the words that matched")


class RuleMatcher:
    """Rules matched within the segments one segmenter cuts; stateless and thread-safe.

    Args:
        rules: the compiled rules; matches name them by position.
        segmenter: how a text is cut into the segments patterns are searched in.
        occurrence: how many matches a rule reports per segment.
    """

    def __init__(
        self, rules: Sequence[PatternRule], segmenter: Segmenter, occurrence: Occurrence
    ) -> None:
        self.rules = tuple(rules)
        self.segmenter = segmenter
        self.occurrence = occurrence

    def find(self, text: str) -> list[RuleMatch]:
        """Every match of every rule that no ``unless`` cancels.

        Args:
            text: the text to match in (spans are positions in it).

        Returns:
            The matches ordered by segment, then rule, then pattern, then position.
        """
        segments = self.segmenter(text)
        cancelled = {
            index
            for index, rule in enumerate(self.rules)
            if rule.unless_scope is UnlessScope.TEXT
            and any(rule.cancelled_by(s.text) for s in segments)
        }
        matches: list[RuleMatch] = []
        for segment in segments:
            for index, rule in enumerate(self.rules):
                if index in cancelled or (
                    rule.unless_scope is UnlessScope.SEGMENT and rule.cancelled_by(segment.text)
                ):
                    continue
                matches += self._in_segment(index, rule, segment)
        return matches

    def _in_segment(self, index: int, rule: PatternRule, segment: Segment) -> list[RuleMatch]:
        found: list[RuleMatch] = []
        for number, pattern in enumerate(rule.patterns):
            if self.occurrence is Occurrence.EVERY:
                hits = [m for m in pattern.finditer(segment.text) if m.group(0)]
            else:
                # the leftmost match only, as re.search reports it; an empty one is no match
                first = pattern.search(segment.text)
                hits = [first] if first and first.group(0) else []
            found += [
                RuleMatch(
                    rule=index,
                    pattern=number,
                    segment=segment,
                    start=segment.start + hit.start(),
                    end=segment.start + hit.end(),
                    text=hit.group(0),
                )
                for hit in hits
            ]
            if found and self.occurrence is Occurrence.FIRST_PER_RULE:
                break
        return found
