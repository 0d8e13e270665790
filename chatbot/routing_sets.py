"""Labelled routing sets (ROUTING.md): the examples the handoff detector trains on and the
benchmarks score, read from JSON Lines, and the fixed dev / held-out split."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from chatbot.understanding import Reason
from conversation.intents import Intent
from core.files import read_jsonl

Route = Literal["bot", "human"]

HELDOUT_EVERY = 3  # records whose numeric id suffix is a multiple of this are held out

_ID_NUMBER = re.compile(r"(\d+)$")


class RoutingExample(BaseModel):
    """One labelled message (ROUTING.md)."""

    id: str
    text: str = Field(min_length=1)
    route: Route
    intent: Intent
    reasons: list[Reason] = Field(default_factory=list)
    hard: bool = False

    @field_validator("id")
    @classmethod
    def _numbered(cls, value: str) -> str:
        if not _ID_NUMBER.search(value):
            raise ValueError(f"id {value!r} must end with a number (e.g. rm-001)")
        return value

    @property
    def number(self) -> int:
        """The numeric suffix of the id."""
        match = _ID_NUMBER.search(self.id)
        assert match is not None  # guaranteed by the validator
        return int(match.group(1))


def load_routing_set(path: Path) -> list[RoutingExample]:
    """Read a labelled routing set (JSON Lines).

    Args:
        path: the file, one record per line.

    Returns:
        The examples in file order.

    Raises:
        PolicyDeskError: a missing file, bad JSON or an invalid record, naming the line.
    """
    return read_jsonl(path, RoutingExample)


def split_routing(
    examples: Sequence[RoutingExample],
) -> tuple[list[RoutingExample], list[RoutingExample]]:
    """The dev and held-out parts: ids whose number is a multiple of 3 are held out.

    Args:
        examples: the labelled set.

    Returns:
        (dev, heldout), each in the input order.
    """
    dev = [e for e in examples if e.number % HELDOUT_EVERY != 0]
    heldout = [e for e in examples if e.number % HELDOUT_EVERY == 0]
    return dev, heldout
