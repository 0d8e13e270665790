"""The profile panel's self-service section renders the records it is given (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _panel() -> None:
    from datetime import UTC, datetime

    from customers.models import (
        Appointment,
        ClaimReportRecord,
        SelfServiceSummary,
        WithdrawalRequest,
    )
    from ui.widgets import render_self_service

    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    render_self_service(
        SelfServiceSummary(
            reports=[
                ClaimReportRecord(
                    claim_no="RC20261120900001",
                    accident_at=at,
                    place="中山路路口",
                    what_happened="追尾",
                    injuries=True,
                    injury_note="轻伤",
                    photo_ids=["u1"],
                    channel="APP",
                    created_at=at,
                )
            ],
            appointments=[
                Appointment(
                    id=1,
                    customer_id="C00001",
                    claim_no="RC20261120900001",
                    kind="injury_mediation",
                    slot_start=at,
                    slot_end=at,
                    contact_phone="138****5678",
                    state="booked",
                    created_at=at,
                )
            ],
            withdrawals=[
                WithdrawalRequest(
                    id=7,
                    customer_id="C00001",
                    claim_no="RC20261120900001",
                    reason="私了",
                    state="pending",
                    stage_before="报案",
                    requested_at=at,
                )
            ],
        )
    )


def test_the_panel_shows_each_record_with_its_status() -> None:
    app = AppTest.from_function(_panel).run()
    assert not app.exception
    texts = " ".join(c.value for c in app.caption)
    assert "RC20261120900001" in texts
    assert "人伤调解" in texts and "138****5678" in texts and "已预约" in texts
    assert "撤案申请 #7" in texts and "待人工确认" in texts
