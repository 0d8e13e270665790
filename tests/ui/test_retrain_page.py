"""The emotion-model page: who may open it, and the published utterance changes it would apply."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.models import Emotion
from sentiment.data import LabelledUtterance
from services.root import Services
from studio.items import ItemKind, UtteranceContent
from tests.ui.conftest import logged_in, page, run, texts


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
