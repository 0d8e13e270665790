"""Our own retrieval dev set: colloquial questions with gold passage ids (data/eval/)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from core.files import read_jsonl


class DevQuestion(BaseModel):
    """A question and the passage ids that answer it (any one counts)."""

    id: str
    question: str
    gold: list[str] = Field(min_length=1)
    topic: str = ""


def load_dev_questions(path: Path) -> list[DevQuestion]:
    """Read the JSON Lines dev set.

    Raises:
        PolicyDeskError: a missing file or a bad line, naming it.
    """
    return read_jsonl(path, DevQuestion)
