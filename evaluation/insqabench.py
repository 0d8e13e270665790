"""InsQABench clause QA (external, in ../shared/data/insqabench): questions and their fragments."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

from core.errors import PolicyDeskError
from core.models import Passage, PassageKind

_CONTRACT = re.compile(r"这段文字来自的合同是：(.*?)\n片段内容：", re.S)
_FRAGMENT = re.compile(r"片段内容：(.*?)\n用户提问：", re.S)
_QUESTION = re.compile(r"用户提问：(.*)$", re.S)


class BenchQuestion(BaseModel):
    """One question with the id of the passage that holds its gold fragment."""

    question: str
    gold_id: str


class InsQABench(BaseModel):
    """Distinct fragments as passages, and every question pointing at one of them."""

    passages: list[Passage]
    questions: list[BenchQuestion]


def load_insqabench(folder: Path) -> InsQABench:
    """Load both files; fragments are deduplicated by exact text.

    Raises:
        PolicyDeskError: the folder or a file is missing or not in the expected shape.
    """
    objective, subjective = folder / "clause_objective.json", folder / "clause_subjective.json"
    for path in (objective, subjective):
        if not path.exists():
            raise PolicyDeskError(f"InsQABench file missing: {path}")
    triples: list[tuple[str, str, str]] = []  # contract, fragment, question
    for record in json.loads(objective.read_text(encoding="utf-8")):
        text = record["input"]
        found = (_CONTRACT.search(text), _FRAGMENT.search(text), _QUESTION.search(text))
        if not all(found):
            raise PolicyDeskError(f"unexpected InsQABench record id {record.get('id')}")
        contract_m, fragment_m, question_m = found
        assert contract_m and fragment_m and question_m
        triples.append(
            (contract_m.group(1).strip(), fragment_m.group(1).strip(), question_m.group(1).strip())
        )
    for contract_name, by_question in json.loads(subjective.read_text(encoding="utf-8")).items():
        for question_text, item in by_question.items():
            triples.append((contract_name.strip(), item["p"].strip(), question_text.strip()))
    ids: dict[str, str] = {}
    passages: list[Passage] = []
    questions: list[BenchQuestion] = []
    for contract_name, fragment, question_text in triples:
        if fragment not in ids:
            ids[fragment] = f"iq-{len(ids) + 1}"
            passages.append(
                Passage(
                    id=ids[fragment],
                    kind=PassageKind.CLAUSE,
                    title="",
                    document=contract_name,
                    citation=contract_name,
                    text=fragment,
                    source="insqabench",
                )
            )
        questions.append(BenchQuestion(question=question_text, gold_id=ids[fragment]))
    return InsQABench(passages=passages, questions=questions)
