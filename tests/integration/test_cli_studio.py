"""``policydesk user|kb|eval`` in-process, on a small knowledge base in a temp data dir."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cli.main import main

pytestmark = pytest.mark.integration

SEED = """---
title: 示例附加险条款
doc_id: demo-rider
kind: clause
product: 机动车商业保险
version: 2026版
document: 示例附加险条款
effective_date: 2026-01-01
---
# 示例附加险条款

第一条 保险期间内，被保险机动车的车身划痕损失，保险人按照本附加险约定负责赔偿。

第二条 被保险人故意造成的划痕损失，保险人不负责赔偿。
"""

NEW = """---
title: 充电桩演示条款
doc_id: charger-demo
kind: clause
product: 新能源汽车商业保险
version: 2026版
document: 充电桩演示条款
effective_date: 2026-01-01
---
# 充电桩演示条款

第一条 被保险人家中自用充电桩因雷击、短路起火造成的损失，保险人负责赔偿。
"""


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def data_dir(trained_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("studio-cli")
    seed = folder / "seed.md"
    seed.write_text(SEED, encoding="utf-8")
    var = folder / "var"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICYDESK_EMBEDDING_MODEL", str(trained_models))
        assert _run("--data-dir", str(var), "ingest", str(seed))[0] == 0
        assert _run("--data-dir", str(var), "kb", "seed")[0] == 0
        assert _run("--data-dir", str(var), "user", "seed-demo")[0] == 0
    return var


@pytest.fixture
def as_demo(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    monkeypatch.setenv("POLICYDESK_EMBEDDING_MODEL", str(model_dir))
    monkeypatch.setenv("POLICYDESK_PASSWORD", "policydesk-demo")


def test_import_review_publish_search_retire_rollback(
    data_dir: Path, as_demo: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ("--data-dir", str(data_dir))
    doc = tmp_path / "charger.md"
    doc.write_text(NEW, encoding="utf-8")

    status, out = _run(*d, "kb", "--user", "trainer01", "import", "--dry-run", str(doc))
    assert status == 0 and "charger-demo-1" in out
    assert "charger-demo-1" not in _run(*d, "kb", "--user", "trainer01", "list")[1]

    status, out = _run(*d, "kb", "--user", "trainer01", "import", "--submit", str(doc))
    assert status == 0 and "1 new" in out and "sent to review" in out

    status, _ = _run(*d, "kb", "--user", "trainer01", "publish", "charger-demo-1")
    assert status == 1 and "reviewer" in capsys.readouterr().err

    _, before = _run(*d, "search", "--json", "--k", "3", "家里充电桩被雷劈了")
    assert "charger-demo-1" not in before  # a draft never reaches agents
    status, out = _run(*d, "kb", "--user", "reviewer01", "publish", "charger-demo-1")
    assert status == 0 and "published" in out
    _, after = _run(*d, "search", "--json", "--k", "3", "家里充电桩被雷劈了")
    assert json.loads(after)["hits"][0]["id"] == "charger-demo-1"
    # the chatbot and the live-call console answer with it
    _, chat = _run(*d, "chat", "--json", "家里的充电桩被雷劈坏了，这个保险赔不赔")
    assert "充电桩演示条款第一条" in json.loads(chat)["citations"]
    call = tmp_path / "call.jsonl"
    call.write_text(
        json.dumps(
            {"speaker": "customer", "text": "家里充电桩被雷劈坏了能赔吗"}, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )
    _, assist = _run(*d, "assist", "--json", "--batch", str(call))
    assert "charger-demo-1" in {hit["id"] for hit in json.loads(assist)["hits"]}

    assert _run(*d, "kb", "--user", "reviewer01", "retire", "charger-demo-1")[0] == 0
    _, retired = _run(*d, "search", "--json", "--k", "3", "家里充电桩被雷劈了")
    assert "charger-demo-1" not in retired
    status, out = _run(*d, "kb", "--user", "reviewer01", "rollback", "charger-demo-1", "1")
    assert status == 0 and "live v2" in out
    _, back = _run(*d, "search", "--json", "--k", "3", "家里充电桩被雷劈了")
    assert json.loads(back)["hits"][0]["id"] == "charger-demo-1"

    status, out = _run(*d, "kb", "--user", "trainer01", "show", "charger-demo-1")
    assert status == 0 and "v1" in out and "v2" in out and "rollback" in out


def test_bad_ids_bad_files_and_roles_give_clear_errors(
    data_dir: Path, as_demo: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ("--data-dir", str(data_dir))
    assert _run(*d, "kb", "--user", "trainer01", "show", "no-such-item")[0] == 1
    assert "no-such-item" in capsys.readouterr().err

    bad = tmp_path / "notes.xlsx"
    bad.write_bytes(b"PK\x03\x04")
    status, out = _run(*d, "kb", "--user", "trainer01", "import", str(bad))
    assert status == 1 and "FAILED notes.xlsx" in out

    status, _ = _run(*d, "eval", "--user", "agent01")
    assert status == 1 and "agent01 may not" in capsys.readouterr().err

    status, _ = _run(*d, "kb", "--user", "trainer01", "--json", "list")
    assert status == 0

    status, _ = _run(*d, "kb", "--user", "trainer01", "audit")
    assert status == 1 and "supervisor" in capsys.readouterr().err


def test_wrong_password_is_refused(
    data_dir: Path,
    as_demo: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POLICYDESK_PASSWORD", "wrong-password")
    status, _ = _run("--data-dir", str(data_dir), "kb", "--user", "trainer01", "list")
    assert status == 1 and "wrong password" in capsys.readouterr().err


def test_user_add_eval_export_and_audit(
    data_dir: Path, as_demo: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = ("--data-dir", str(data_dir))
    monkeypatch.setenv("POLICYDESK_NEW_PASSWORD", "Another-Secret-26")
    status, out = _run(*d, "user", "add", "trainer02", "--role", "trainer", "--role", "reviewer")
    assert status == 0 and "trainer" in out and "reviewer" in out
    assert _run(*d, "user", "add", "trainer02", "--role", "trainer")[0] == 1  # a duplicate

    status, out = _run(*d, "eval", "--user", "trainer01", "--json")
    assert status == 0
    payload = json.loads(out)
    assert payload["label"] == "live" and payload["report"]["results"]

    export = tmp_path / "items.jsonl"
    assert _run(*d, "kb", "--user", "trainer01", "export", "--out", str(export))[0] == 0
    rows = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert {"demo-rider-1", "demo-rider-2"} <= {r["item"]["id"] for r in rows}

    audit = tmp_path / "audit.csv"
    assert _run(*d, "kb", "--user", "supervisor01", "audit", "--csv", str(audit))[0] == 0
    entries = list(csv.reader(io.StringIO(audit.read_text(encoding="utf-8-sig"))))
    assert any("user.add" in row for row in entries)


def test_routing_review_list_label_and_export(
    data_dir: Path, as_demo: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chatbot.review import NewReview, ReviewKind, RoutingReviewLog
    from chatbot.understanding import Reason
    from core.settings import Settings
    from services.root import Services

    log = RoutingReviewLog(Services(Settings(data_dir=data_dir)).engine)
    entry = log.record(
        NewReview(
            session_id="S-cli",
            kind=ReviewKind.LEARNED_ONLY,
            text="这次能不能先把修车钱垫上",
            route="human",
            intent="claim_progress",
            reasons=[Reason.NEEDS_DECISION],
            learned_p=0.74,
        )
    )
    base = ("--data-dir", str(data_dir), "routing")
    assert _run(*base, "--user", "agent01", "list")[0] == 1  # agents do not label routing
    assert "trainer or supervisor" in capsys.readouterr().err

    status, listed = _run(*base, "--user", "trainer01", "list")
    assert status == 0 and entry.id in listed and "learned_only" in listed and "p=0.74" in listed

    # no reason given for 'human': the decision's own trigger is the label
    status, said = _run(*base, "--user", "trainer01", "label", entry.id, "human")
    assert status == 0 and "needs_decision" in said
    assert _run(*base, "--user", "trainer01", "label", entry.id, "bot", "--reason", "upset")[0] == 1
    assert "takes no reasons" in capsys.readouterr().err
    assert entry.id not in _run(*base, "--user", "trainer01", "list")[1]

    out_file = tmp_path / "reviewed.jsonl"
    status, said = _run(*base, "--user", "supervisor01", "export", "--out", str(out_file))
    assert status == 0 and "exported 1 labelled message" in said
    (record,) = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert (record["route"], record["reasons"]) == ("human", ["needs_decision"])
    missing = tmp_path / "no-such-folder" / "x.jsonl"
    assert _run(*base, "--user", "supervisor01", "export", "--out", str(missing))[0] == 1
    assert "does not exist" in capsys.readouterr().err and not missing.exists()
