"""Colloquial-to-formal term map: how callers speak (泡水, 被偷, 跑滴滴) to clause language.

The map is a data file trainers edit (``data/terms/synonyms.tsv``): one line per colloquial
expression, a tab, then the formal terms separated by spaces or commas. ``#`` starts a comment.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.errors import ConfigurationError

# what separates the formal terms of a line; no expression or term contains one (nor '#')
TERM_SEPARATORS = re.compile(r"[\s,，、]+")


def _one_term(value: str) -> bool:
    return not TERM_SEPARATORS.search(value) and "#" not in value


class TermEntry(BaseModel):
    """One line of the term map: a colloquial expression and the formal terms it stands for.

    Building one trims every value, drops blank and repeated synonyms, and refuses (with a
    ``pydantic.ValidationError`` naming the value) a blank expression, an expression or synonym
    with a space, comma, 、 or '#' in it (the file could not hold it), or no synonyms.
    """

    model_config = ConfigDict(frozen=True)

    expression: str = Field(description="how callers say it, e.g. 泡水")
    synonyms: list[str] = Field(description="the formal clause terms, e.g. 涉水, 水淹")

    @field_validator("expression")
    @classmethod
    def _one_expression(cls, expression: str) -> str:
        value = expression.strip()
        if not value:
            raise ValueError("a term needs the colloquial expression (how callers say it)")
        if not _one_term(value):
            raise ValueError(
                f"a term is one expression without spaces, commas or '#': {expression!r}"
            )
        return value

    @field_validator("synonyms")
    @classmethod
    def _single_terms(cls, synonyms: list[str]) -> list[str]:
        values = [s.strip() for s in synonyms if s.strip()]
        for value in values:
            if not _one_term(value):
                raise ValueError(
                    f"synonym {value!r} must be one term without spaces, commas or '#'"
                )
        return list(dict.fromkeys(values))

    @model_validator(mode="after")
    def _has_synonyms(self) -> TermEntry:
        if not self.synonyms:
            raise ValueError(
                f"the term {self.expression!r} needs synonyms: the formal clause terms it "
                "stands for"
            )
        return self


class TermMap(BaseModel):
    """Colloquial expression -> formal clause terms."""

    entries: dict[str, list[str]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TermMap:
        """Read the TSV file; a missing file is an empty map.

        Raises:
            ConfigurationError: a line without a tab or without formal terms, naming the line.
        """
        if not path.exists():
            return cls()
        entries: dict[str, list[str]] = {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            colloquial, sep, formal = line.partition("\t")
            terms = [t for t in TERM_SEPARATORS.split(formal) if t]
            if not sep or not colloquial.strip() or not terms:
                raise ConfigurationError(
                    f"{path}:{number}: expected 'colloquial<TAB>formal terms', got {raw!r}"
                )
            entries.setdefault(colloquial.strip(), [])
            entries[colloquial.strip()].extend(
                t for t in terms if t not in entries[colloquial.strip()]
            )
        return cls(entries=entries)

    def expand(self, query: str) -> list[str]:
        """Formal terms for every colloquial expression in the query, not already in it.

        Longer expressions are matched first, and their span is not matched again by a shorter one
        (so 被水泡 does not also fire 水泡 if both are listed).
        """
        found: list[str] = []
        taken = [False] * len(query)
        for colloquial in sorted(self.entries, key=len, reverse=True):
            start = query.find(colloquial)
            while start != -1:
                span = range(start, start + len(colloquial))
                if not any(taken[i] for i in span):
                    for i in span:
                        taken[i] = True
                    for term in self.entries[colloquial]:
                        if term not in query and term not in found:
                            found.append(term)
                start = query.find(colloquial, start + 1)
        return found
