"""The ``policydesk`` command contract, run in-process against a real demo index."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from core.settings import PROJECT_ROOT
from services.root import Services

pytestmark = pytest.mark.integration


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_search_json_shape(demo_services: Services) -> None:
    data_dir = str(demo_services.settings.data_dir)
    status, output = _run("--data-dir", data_dir, "search", "--json", "--k", "4", "车被偷了怎么办")
    assert status == 0
    lines = output.splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert payload["query"] == "车被偷了怎么办"
    assert len(payload["hits"]) == 4
    for hit in payload["hits"]:
        assert set(hit) == {"id", "kind", "title", "citation", "text", "score"}
        assert hit["kind"] in {"clause", "case", "faq"}
    scores = [hit["score"] for hit in payload["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_search_kind_filter(demo_services: Services) -> None:
    data_dir = str(demo_services.settings.data_dir)
    status, output = _run("--data-dir", data_dir, "search", "--json", "--kind", "case", "酒驾")
    assert status == 0
    assert {hit["kind"] for hit in json.loads(output)["hits"]} == {"case"}


def test_search_batch_keeps_order(demo_services: Services, tmp_path: Path) -> None:
    questions = ["车被偷了怎么办", "交强险赔多少", "充电桩着火了", "怎么开发票"]
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        "".join(json.dumps({"text": q}, ensure_ascii=False) + "\n" for q in questions),
        encoding="utf-8",
    )
    data_dir = str(demo_services.settings.data_dir)
    status, output = _run("--data-dir", data_dir, "search", "--json", "--batch", str(batch))
    assert status == 0
    assert [json.loads(line)["query"] for line in output.splitlines()] == questions


def test_bad_batch_line_is_named_and_nothing_is_printed(
    demo_services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"text": "车被偷了"}\n{"question": "没有text"}\n', encoding="utf-8")
    data_dir = str(demo_services.settings.data_dir)
    status, output = _run("--data-dir", data_dir, "search", "--json", "--batch", str(batch))
    assert status == 1
    assert output == ""
    assert "line 2" in capsys.readouterr().err


def test_over_long_query_is_refused(
    demo_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(demo_services.settings.data_dir)
    status, output = _run("--data-dir", data_dir, "search", "保" * 2001)
    assert status == 1
    assert output == ""
    assert "2000" in capsys.readouterr().err


def test_search_without_index_says_to_ingest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = _run("--data-dir", str(tmp_path / "empty"), "search", "车被偷了")
    assert status == 1
    err = capsys.readouterr().err
    assert "policydesk" in err and "ingest" in err
    assert "Traceback" not in err


def test_ingest_of_an_empty_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    status, _ = _run("--data-dir", str(tmp_path / "var"), "ingest", str(empty))
    assert status == 1
    assert "empty.md" in capsys.readouterr().err


def test_python_dash_m_cli_runs_the_command() -> None:
    # the benchmarks' cold start runs it this way, as anyone may without the installed script
    completed = subprocess.run(
        [sys.executable, "-m", "cli", "search", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "--batch" in completed.stdout


def test_installed_entry_point_runs() -> None:
    executable = Path(sys.executable).parent / "policydesk"
    assert executable.exists(), "run `make setup`: the project is not installed into the venv"
    completed = subprocess.run(
        [str(executable), "search", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert completed.returncode == 0
    assert "--batch" in completed.stdout


def _chat_batch(tmp_path: Path, texts: list[str]) -> Path:
    batch = tmp_path / "chat.jsonl"
    batch.write_text(
        "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
        encoding="utf-8",
    )
    return batch


def test_chat_conversation_batch_is_one_conversation_in_order(
    demo_services: Services, tmp_path: Path
) -> None:
    data_dir = str(demo_services.settings.data_dir)
    batch = _chat_batch(tmp_path, ["交强险的死亡伤残限额是多少", "谢谢", "5"])
    status, output = _run(
        "--data-dir", data_dir, "chat", "--json", "--conversation", "--batch", str(batch)
    )
    assert status == 0
    answers = [json.loads(line) for line in output.splitlines()]
    assert [a["text"] for a in answers] == ["交强险的死亡伤残限额是多少", "谢谢", "5"]
    # the thanks follows an answer in the same conversation, so the bot asks the survey, and
    # takes "5" as its score; lines answered one by one know nothing of each other
    assert "1-5" in answers[1]["answer"]
    assert "0-10" in answers[2]["answer"] or "推荐" in answers[2]["answer"]
    assert all("record" not in a for a in answers)  # no flow created anything
    status, alone = _run("--data-dir", data_dir, "chat", "--json", "--batch", str(batch))
    assert status == 0
    assert "1-5" not in json.loads(alone.splitlines()[1])["answer"]


def test_chat_conversation_needs_a_batch_file(
    demo_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(demo_services.settings.data_dir)
    status, output = _run("--data-dir", data_dir, "chat", "--conversation", "你好")
    assert status == 1 and output == ""
    assert "--conversation needs --batch" in capsys.readouterr().err
