"""The emotion-model page: who may open it, the published utterance changes it would apply, and a
retraining run as a background job (its result, its failure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.models import Emotion
from db.jobs import JobState
from sentiment.data import LabelledUtterance
from sentiment.retrain import EmotionRetrainer, RetrainResult
from services.root import Services
from studio.items import ItemKind, UtteranceContent
from tests.ui.conftest import click_job, logged_in, page, run, texts


def _open(services: Services, username: str) -> AppTest:
    app = AppTest.from_file(page("studio_retrain"), default_timeout=60)
    return run(logged_in(app, services, username))


def test_an_agent_cannot_open_it(studio_services: Services) -> None:
    app = _open(studio_services, "alan")
    assert app.error and "培训师" in app.error[0].value
    assert not any(b.label == "重新训练" for b in app.button)


def test_only_published_utterance_changes_are_pending(studio_services: Services) -> None:
    studio = studio_services.studio
    tina, rita = studio_services.accounts.get("tina"), studio_services.accounts.get("rita")
    app = _open(studio_services, "tina")
    assert "**0**" in texts(app)

    said = LabelledUtterance(id="new", text="再不赔我就去监管局", label=Emotion.ANGRY)
    draft = studio.create(tina, ItemKind.UTTERANCE, UtteranceContent(utterance=said))
    assert "**0**" in texts(_open(studio_services, "tina"))  # a draft is not used
    studio.submit(tina, draft.id)
    studio.publish(rita, draft.id)
    app = _open(studio_services, "tina")
    assert "**1**" in texts(app)
    assert any(b.label == "重新训练" for b in app.button)
    assert not any(b.label == "采用新模型" for b in app.button)  # nothing trained yet


def test_a_retraining_runs_as_a_job_and_its_result_waits_for_a_decision(
    studio_services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the training itself is tested with the real encoder in tests/integration/test_retrain.py;
    # here it is instant: a fixed comparison and a candidate folder
    candidate = tmp_path / "candidate"
    measured = RetrainResult(
        before={"label_accuracy": 0.70, "upset_f1": 0.60},
        after={"label_accuracy": 0.72, "upset_f1": 0.65},
        train_size=900,
        dev_size=130,
        overrides=1,
        seconds=0.1,
    )

    def propose(self: EmotionRetrainer, *_args: object) -> RetrainResult:
        candidate.mkdir()
        return measured

    def discard(self: EmotionRetrainer) -> None:
        candidate.rmdir()

    monkeypatch.setattr(EmotionRetrainer, "propose", propose)
    monkeypatch.setattr(EmotionRetrainer, "discard", discard)
    monkeypatch.setattr(
        EmotionRetrainer,
        "candidate",
        property(lambda self: candidate if candidate.exists() else None),
    )
    app = _open(studio_services, "tina")
    app = click_job(app, studio_services, "retrain_run")
    (job,) = studio_services.jobs.recent("emotion_retrain")
    assert job.state is JobState.DONE and job.requested_by == "tina"
    table = app.dataframe[-1].value
    assert list(table["新模型"]) == ["0.720", "0.650"] and list(table["Δ"]) == ["+0.020", "+0.050"]
    assert "新模型两项指标均不低于当前模型。" in texts(app)
    assert f"后台作业 #{job.id} 的结果" in texts(app)

    # the trainer may leave and come back: a new session shows the same result
    app = _open(studio_services, "tina")
    assert any(b.label == "采用新模型" for b in app.button)
    next(b for b in app.button if b.label == "放弃新模型").click()
    app = run(app)
    assert "已放弃新模型" in texts(app)
    assert not any(b.label == "采用新模型" for b in app.button)  # decided: the result is gone


def test_a_failed_retraining_shows_its_message(studio_services: Services) -> None:
    app = _open(studio_services, "tina")  # no serving model in this data dir: training fails
    app = click_job(app, studio_services, "retrain_run")
    (job,) = studio_services.jobs.recent("emotion_retrain")
    assert job.state is JobState.FAILED and job.error
    assert job.error.startswith("model not found at") and "policydesk train sentiment" in job.error
    (error,) = app.error
    assert error.value == f"再训练失败：{job.error}" and "Traceback" not in error.value
    assert next(b for b in app.button if b.label == "重新训练").disabled is False
