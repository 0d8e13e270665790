"""Our own retrieval dev set: colloquial questions with gold passage ids (data/eval/)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import PolicyDeskError


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
    if not path.exists():
        raise PolicyDeskError(f"dev question set missing: {path}")
    questions: list[DevQuestion] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(DevQuestion.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as exc:
            raise PolicyDeskError(f"{path}: line {number}: {exc}") from exc
    return questions
