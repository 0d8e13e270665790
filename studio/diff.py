"""Compare two versions of an item's content (pure): changed fields and a side-by-side text diff."""

from __future__ import annotations

import difflib
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from studio.items import ItemContent


class FieldChange(BaseModel):
    """One field whose value differs, both values rendered as text ('' when absent)."""

    field: str
    before: str
    after: str


class LineOp(StrEnum):
    """How a row of the side-by-side text diff changed."""

    EQUAL = "equal"
    REPLACE = "replace"
    INSERT = "insert"
    DELETE = "delete"


class DiffRow(BaseModel):
    """One row of the side-by-side text diff.

    Line numbers are 1-based and None on the side a line is missing from. For replaced lines the
    spans give the changed character ranges ``[start, end)`` on each side (Chinese has no spaces,
    so a word diff would not help).
    """

    op: LineOp
    left_no: int | None = None
    left: str = ""
    right_no: int | None = None
    right: str = ""
    left_spans: list[tuple[int, int]] = Field(default_factory=list)
    right_spans: list[tuple[int, int]] = Field(default_factory=list)


class ContentDiff(BaseModel):
    """Everything that differs between two contents."""

    changes: list[FieldChange]
    text_field: str = Field(
        default="text", description="the field compared line by line (a rule's reason)"
    )
    text_rows: list[DiffRow]

    @property
    def changed(self) -> bool:
        """True when any field differs."""
        return bool(self.changes)

    @property
    def changed_fields(self) -> list[str]:
        """The names of the fields that differ, in display order."""
        return [change.field for change in self.changes]


def render_value(value: object) -> str:
    """A field value as display text: dates in ISO form, lists joined with '、', flags as yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def diff_contents(before: ItemContent, after: ItemContent) -> ContentDiff:
    """Field-by-field changes and a side-by-side line diff of the main text.

    Args:
        before: the older content (left side).
        after: the newer content (right side); of the same kind, as two versions of one item are.

    Returns:
        The changed fields in the content's display order (``fields()``; a field only one side
        has counts as changed), and the rows of the main text (``body_field``: the text, a rule's
        reason, a term's expression; all equal rows when it did not change).
    """
    old_fields, new_fields = before.fields(), after.fields()
    names = [*old_fields, *(name for name in new_fields if name not in old_fields)]
    changes = []
    for name in names:
        old, new = old_fields.get(name), new_fields.get(name)
        if name not in old_fields or name not in new_fields or old != new:
            changes.append(
                FieldChange(field=name, before=render_value(old), after=render_value(new))
            )
    body = after.body_field
    return ContentDiff(
        changes=changes,
        text_field=body,
        text_rows=side_by_side(
            render_value(old_fields.get(body, "")), render_value(new_fields.get(body, ""))
        ),
    )


def side_by_side(left: str, right: str) -> list[DiffRow]:
    """Rows pairing the lines of two texts, with changed character spans on replaced lines."""
    a, b = left.splitlines(), right.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow(op=LineOp.EQUAL, left_no=i + 1, left=a[i], right_no=j + 1, right=b[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        elif tag == "delete":
            rows.extend(DiffRow(op=LineOp.DELETE, left_no=i + 1, left=a[i]) for i in range(i1, i2))
        elif tag == "insert":
            rows.extend(
                DiffRow(op=LineOp.INSERT, right_no=j + 1, right=b[j]) for j in range(j1, j2)
            )
        else:
            rows.extend(_replace_rows(a, b, i1, i2, j1, j2))
    return rows


def _replace_rows(a: list[str], b: list[str], i1: int, i2: int, j1: int, j2: int) -> list[DiffRow]:
    rows: list[DiffRow] = []
    pairs = min(i2 - i1, j2 - j1)
    for offset in range(pairs):
        i, j = i1 + offset, j1 + offset
        left_spans, right_spans = char_spans(a[i], b[j])
        rows.append(
            DiffRow(
                op=LineOp.REPLACE,
                left_no=i + 1,
                left=a[i],
                right_no=j + 1,
                right=b[j],
                left_spans=left_spans,
                right_spans=right_spans,
            )
        )
    # the longer side's surplus lines have no partner
    rows.extend(DiffRow(op=LineOp.DELETE, left_no=i + 1, left=a[i]) for i in range(i1 + pairs, i2))
    rows.extend(
        DiffRow(op=LineOp.INSERT, right_no=j + 1, right=b[j]) for j in range(j1 + pairs, j2)
    )
    return rows


def char_spans(left: str, right: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character ranges that differ between two lines, on each side."""
    left_spans: list[tuple[int, int]] = []
    right_spans: list[tuple[int, int]] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            left_spans.append((i1, i2))
        if j2 > j1:
            right_spans.append((j1, j2))
    return left_spans, right_spans
