"""The trainers' golden question set (question → expected passages) and its evaluation runs, in SQL.

Trainers edit the set in the studio; ``studio.golden_eval.run_golden_eval`` scores a retriever
over it and records each run here, so the studio can show the change since the last one. The set
can be seeded once from our dev questions (data/eval/dev_questions.jsonl); the held-out questions
are never loaded, so they stay unseen by anyone tuning the knowledge base.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    RowMapping,
    delete,
    func,
    insert,
    select,
    update,
)

from core.errors import PolicyDeskError
from core.masking import redact
from db.schema import questions_table, runs_table
from db.store import SqlStore
from studio.golden_eval import EvalReport, QuestionResult
from studio.questions import load_dev_questions

MAX_QUESTION_CHARS = 500
MAX_NOTE_CHARS = 500
MAX_ID_CHARS = 200
MAX_NAME_CHARS = 64


class GoldenQuestionError(PolicyDeskError):
    """A golden question that cannot be stored as given; the message names the bad value."""


class GoldenQuestionNotFoundError(PolicyDeskError):
    """No golden question with that id."""


class EvalRunNotFoundError(PolicyDeskError):
    """No evaluation run with that id."""


class GoldenQuestion(BaseModel):
    """A question and the passage ids that answer it (any one counts)."""

    id: int
    question: str
    expected_ids: list[str]
    note: str = ""
    author: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    source_id: str = ""


class EvalRunSummary(BaseModel):
    """One recorded run without its per-question results, for the history list."""

    id: int
    at: datetime
    actor: str
    label: str
    ks: list[int]
    recall: dict[int, float]
    mrr: float
    questions: int
    misses: int


class EvalRun(BaseModel):
    """One recorded run with its full report."""

    id: int
    at: datetime
    actor: str
    label: str
    report: EvalReport


def _name(value: str, what: str) -> str:
    name = value.strip()
    if not name:
        raise GoldenQuestionError(f"the {what} is empty")
    if len(name) > MAX_NAME_CHARS:
        raise GoldenQuestionError(
            f"the {what} {name[:20]!r}… is longer than {MAX_NAME_CHARS} characters"
        )
    return name


def _question(text: str) -> str:
    # masked like agents' feedback: questions are often pasted from real calls
    question = redact(" ".join(text.split()))
    if not question:
        raise GoldenQuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise GoldenQuestionError(
            f"the question has {len(question)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    return question


def _expected(ids: Sequence[str]) -> list[str]:
    if isinstance(ids, str):
        raise GoldenQuestionError(f"expected ids must be a list of ids, not the string {ids!r}")
    cleaned: list[str] = []
    for raw in ids:
        pid = raw.strip()
        if not pid or any(ch.isspace() for ch in pid) or "#" in pid or len(pid) > MAX_ID_CHARS:
            raise GoldenQuestionError(
                f"expected passage id {raw!r} must be non-blank, without spaces or '#', "
                f"and at most {MAX_ID_CHARS} characters"
            )
        if pid not in cleaned:
            cleaned.append(pid)
    if not cleaned:
        raise GoldenQuestionError("a golden question needs at least one expected passage id")
    return cleaned


def _note(text: str) -> str:
    note = text.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise GoldenQuestionError(
            f"the note has {len(note)} characters; the limit is {MAX_NOTE_CHARS}"
        )
    return note


class GoldenSet(SqlStore):
    """The golden questions: add, edit, remove, list; seeded once from the dev set."""

    def add(
        self,
        question: str,
        expected_ids: Sequence[str],
        note: str,
        author: str,
        now: datetime | None = None,
    ) -> GoldenQuestion:
        """Add a question.

        Args:
            question: what a customer or agent would ask (whitespace collapsed, identifiers
                masked, at most 500 characters).
            expected_ids: the passage ids that answer it; any one in the results counts.
            note: why these passages (may be empty).
            author: who added it.
            now: the time to record (the current time by default).

        Returns:
            The stored question.

        Raises:
            GoldenQuestionError: an empty or over-long question, no or malformed expected ids,
                an over-long note, a blank author, or a question already in the set.
        """
        values = self._values(question, expected_ids, note, author, now or datetime.now(UTC))
        with self.transaction() as conn:
            self._refuse_duplicate(conn, values["question"], None)
            result = conn.execute(insert(questions_table).values(**values))
            key = result.inserted_primary_key
        assert key is not None
        return GoldenQuestion(id=int(key[0]), **values)

    def update(
        self,
        question_id: int,
        *,
        author: str,
        question: str | None = None,
        expected_ids: Sequence[str] | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> GoldenQuestion:
        """Edit a question; fields left as None keep their value.

        Raises:
            GoldenQuestionNotFoundError: unknown id.
            GoldenQuestionError: as for ``add``.
        """
        changes: dict[str, object] = {
            "updated_by": _name(author, "author"),
            "updated_at": now or datetime.now(UTC),
        }
        if question is not None:
            changes["question"] = _question(question)
        if expected_ids is not None:
            changes["expected_ids"] = _expected(expected_ids)
        if note is not None:
            changes["note"] = _note(note)
        with self.transaction() as conn:
            if "question" in changes:
                self._refuse_duplicate(conn, str(changes["question"]), question_id)
            changed = conn.execute(
                update(questions_table).where(questions_table.c.id == question_id).values(**changes)
            ).rowcount
        if not changed:
            raise GoldenQuestionNotFoundError(f"no golden question with id {question_id}")
        return self.get(question_id)

    def remove(self, question_id: int) -> None:
        """Delete a question.

        Raises:
            GoldenQuestionNotFoundError: unknown id.
        """
        with self.transaction() as conn:
            changed = conn.execute(
                delete(questions_table).where(questions_table.c.id == question_id)
            ).rowcount
        if not changed:
            raise GoldenQuestionNotFoundError(f"no golden question with id {question_id}")

    def get(self, question_id: int) -> GoldenQuestion:
        """One question.

        Raises:
            GoldenQuestionNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(
                select(questions_table).where(questions_table.c.id == question_id)
            ).first()
        if row is None:
            raise GoldenQuestionNotFoundError(f"no golden question with id {question_id}")
        return self._model(row._mapping)

    def count(self) -> int:
        """Number of questions in the set."""
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(questions_table)).scalar_one())

    def seed_from_jsonl(self, path: Path, author: str = "dev-set") -> int:
        """Load the dev questions when the set is empty (so at most once, never over edits).

        Args:
            path: a dev-set file in the ``studio.questions`` format (id, question, gold, topic);
                the topic becomes the note and the id the source id.
            author: the author recorded for the seeded questions.

        Returns:
            How many questions were added (0 when the set already had questions).

        Raises:
            PolicyDeskError: a held-out file (it must stay unseen), a missing file or a bad line.
            GoldenQuestionError: a dev question that fails validation, naming its id.
        """
        if "heldout" in path.name.lower():
            raise PolicyDeskError(
                f"{path}: held-out questions are never loaded into the golden set "
                "(they measure the knowledge base blind); seed from the dev questions"
            )
        records = load_dev_questions(path)
        when = datetime.now(UTC)
        rows: list[dict[str, object]] = []
        seen: set[str] = set()
        for record in records:
            try:
                values = self._values(record.question, record.gold, record.topic, author, when)
            except GoldenQuestionError as exc:
                raise GoldenQuestionError(f"{path}: {record.id}: {exc}") from exc
            if values["question"] in seen:
                continue
            seen.add(str(values["question"]))
            rows.append(values | {"source_id": record.id})
        with self.transaction() as conn:
            if conn.execute(select(func.count()).select_from(questions_table)).scalar_one():
                return 0
            conn.execute(insert(questions_table), rows)
        return len(rows)

    def list(self) -> list[GoldenQuestion]:
        """Every question, oldest first."""
        with self.reading() as conn:
            rows = conn.execute(select(questions_table).order_by(questions_table.c.id))
            return [self._model(row._mapping) for row in rows]

    @staticmethod
    def _values(
        question: str, expected_ids: Sequence[str], note: str, author: str, when: datetime
    ) -> dict[str, object]:
        name = _name(author, "author")
        return {
            "question": _question(question),
            "expected_ids": _expected(expected_ids),
            "note": _note(note),
            "author": name,
            "created_at": when,
            "updated_by": name,
            "updated_at": when,
            "source_id": "",
        }

    @staticmethod
    def _refuse_duplicate(conn: Connection, question: object, except_id: int | None) -> None:
        query = select(questions_table.c.id).where(questions_table.c.question == question)
        if except_id is not None:
            query = query.where(questions_table.c.id != except_id)
        existing = conn.execute(query).scalar()
        if existing is not None:
            raise GoldenQuestionError(
                f"the question {question!r} is already in the set (id {existing})"
            )

    @staticmethod
    def _model(row: RowMapping) -> GoldenQuestion:
        question = GoldenQuestion.model_validate(row)
        return question.model_copy(
            update={
                "created_at": question.created_at,
                "updated_at": question.updated_at,
            }
        )


class EvaluationRuns(SqlStore):
    """Every golden-set evaluation run: when, who, what was measured, and the full report."""

    def record(
        self, report: EvalReport, actor: str, label: str, at: datetime | None = None
    ) -> EvalRun:
        """Store a run.

        Args:
            report: the scored run.
            actor: who started it.
            label: what was measured, e.g. ``"live"`` or ``"draft preview"``.
            at: when (the current time by default).

        Raises:
            GoldenQuestionError: a blank or over-long actor or label.
        """
        when = at or datetime.now(UTC)
        who, what = _name(actor, "actor"), _name(label, "label")
        with self.transaction() as conn:
            key = conn.execute(
                insert(runs_table).values(
                    at=when,
                    actor=who,
                    label=what,
                    ks=report.ks,
                    recall={str(k): v for k, v in report.recall.items()},
                    mrr=report.mrr,
                    questions=report.questions,
                    misses=len(report.misses),
                    results=[r.model_dump(mode="json") for r in report.results],
                )
            ).inserted_primary_key
        assert key is not None
        return EvalRun(id=int(key[0]), at=when, actor=who, label=what, report=report)

    def latest(self, label: str | None = None) -> EvalRun | None:
        """The most recent run, optionally only among runs with this label."""
        query = select(runs_table).order_by(runs_table.c.at.desc(), runs_table.c.id.desc())
        if label is not None:
            query = query.where(runs_table.c.label == label)
        with self.reading() as conn:
            row = conn.execute(query.limit(1)).first()
        return self._run(row._mapping) if row is not None else None

    def get(self, run_id: int) -> EvalRun:
        """One run with its report.

        Raises:
            EvalRunNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(runs_table).where(runs_table.c.id == run_id)).first()
        if row is None:
            raise EvalRunNotFoundError(f"no evaluation run with id {run_id}")
        return self._run(row._mapping)

    def history(self, limit: int = 50, label: str | None = None) -> list[EvalRunSummary]:
        """Recent runs without per-question results, newest first."""
        columns = [c for c in runs_table.c if c.name != "results"]
        query = (
            select(*columns).order_by(runs_table.c.at.desc(), runs_table.c.id.desc()).limit(limit)
        )
        if label is not None:
            query = query.where(runs_table.c.label == label)
        with self.reading() as conn:
            rows = conn.execute(query).all()
        return [EvalRunSummary.model_validate(dict(row._mapping)) for row in rows]

    @staticmethod
    def _run(row: RowMapping) -> EvalRun:
        report = EvalReport(
            ks=row["ks"],
            recall={int(k): v for k, v in row["recall"].items()},
            mrr=row["mrr"],
            results=[QuestionResult.model_validate(r) for r in row["results"]],
        )
        return EvalRun(
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            label=row["label"],
            report=report,
        )
