"""The flows benchmark's player: each outcome it reports comes from what the live bot did."""

from __future__ import annotations

import pytest

from evaluation.flows_bench import ScriptedConversation, flow_rows, play
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Services:
    settings = with_private_database(demo_services.settings, tmp_path_factory.mktemp("fbench"))
    return Services(settings, embedder=demo_services.embedder)


def _script(
    flow: str, expect: str, record: str | None, *turns: tuple[str, int]
) -> ScriptedConversation:
    return ScriptedConversation(
        flow=flow,
        style="terse",
        turns=[{"text": t, "attachments": n} for t, n in turns],
        expect=expect,
        expect_record=record,
    )


def test_the_player_reports_completions_handoffs_and_abandons_as_the_bot_made_them(
    services: Services,
) -> None:
    bot = services.chatbot()
    report = _script(
        "report_claim_flow",
        "completed",
        "claim_report",
        ("我要报案", 0),
        ("昨天晚上七点", 0),
        ("在和平路菜市场门口", 0),
        ("停车的时候蹭到了旁边的石墩", 0),
        ("没人受伤", 0),
        ("单车", 0),
        ("", 2),
        ("确认", 0),
    )
    status = _script("claim_status", "completed", None, ("查一下理赔进度", 0), ("2", 0))
    human = _script("withdraw_claim", "handed_over", None, ("我要撤案", 0), ("转人工", 0))
    left = _script("online_survey", "abandoned", None, ("想约个视频查勘", 0), ("算了", 0))
    played = [play(services, bot, s, 900 + n) for n, s in enumerate((report, status, human, left))]

    assert [p.outcome for p in played] == ["completed", "completed", "handed_over", "abandoned"]
    assert played[0].record == "claim_report" and played[0].record_ok and played[0].steps == 8
    assert played[1].steps == 2 and played[1].record is None
    assert played[2].handed_at == "claim_no" and "explicit_request" in played[2].reasons
    assert played[3].steps == 2
    rows = {r.flow: r for r in flow_rows(played)}
    assert (
        rows["report_claim_flow"].completion == 1.0 and rows["report_claim_flow"].agreement == 1.0
    )
    assert rows["withdraw_claim"].handed_at == {"claim_no": 1}
