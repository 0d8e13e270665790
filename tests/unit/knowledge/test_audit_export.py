"""Audit CSV export (pure)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from audit.log import AuditEntry, export_csv


def test_export_has_a_header_iso_times_and_quoted_text() -> None:
    beijing = timezone(timedelta(hours=8))
    entries = [
        AuditEntry(
            id=7,
            at=datetime(2025, 3, 1, 17, 30, tzinfo=beijing),
            actor="rita",
            action="kb.publish",
            target="t-9",
            detail='v2: 核对无误, "已确认"\n第二行',
        )
    ]
    rows = list(csv.reader(io.StringIO(export_csv(entries))))
    assert rows == [
        ["id", "at", "actor", "action", "target", "detail"],
        [
            "7",
            "2025-03-01T09:30:00+00:00",
            "rita",
            "kb.publish",
            "t-9",
            'v2: 核对无误, "已确认"\n第二行',
        ],
    ]


def test_cells_a_spreadsheet_would_run_are_neutralised() -> None:
    entry = AuditEntry(
        id=1,
        at=datetime(2025, 1, 1, tzinfo=UTC),
        actor="tina",
        action="kb.edit",
        target="x",
        detail='=HYPERLINK("http://evil")',
    )
    rows = list(csv.reader(io.StringIO(export_csv([entry]))))
    assert rows[1][5] == '\'=HYPERLINK("http://evil")'


def test_no_entries_is_just_the_header() -> None:
    assert export_csv([]) == "id,at,actor,action,target,detail\n"
