"""The knowledge search page, driven with streamlit's AppTest against a real demo index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from accounts.models import Role
from core.models import PassageKind
from core.settings import PROJECT_ROOT
from services.root import Services
from tests.conftest import SessionDatabases, migrated_settings
from tests.ui.conftest import ensure_account, logged_in
from ui.resources import get_services

PAGE = str(PROJECT_ROOT / "ui" / "pages" / "knowledge_search.py")
AGENT = "a007"


@pytest.fixture
def data_dir_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_services.clear()
    yield monkeypatch
    get_services.clear()


def _open(services: Services, page: str = PAGE) -> AppTest:
    """The page in a new session, logged in as an agent of this data dir."""
    ensure_account(services, AGENT, [Role.AGENT])
    app = logged_in(AppTest.from_file(page, default_timeout=60), services, AGENT).run()
    assert not app.exception, app.exception
    return app


def _submit(app: AppTest, query: str) -> AppTest:
    app.text_input(key="query").input(query)
    app.button[0].click()
    return app.run(timeout=60)


def test_search_shows_cards_with_citations_and_highlights(
    demo_services: Services, data_dir_env: pytest.MonkeyPatch
) -> None:
    data_dir_env.setenv("POLICYDESK_DATA_DIR", str(demo_services.settings.data_dir))
    app = _open(demo_services)
    app = _submit(app, "车在地库被水泡了能赔吗")
    assert not app.exception
    markdown = [m.value for m in app.markdown]
    cards = [m for m in markdown if m.startswith("**1.")]
    assert cards, markdown
    assert any(":orange-background[" in m for m in markdown), "no highlighted match"
    captions = " ".join(c.value for c in app.caption)
    assert "涉水" in captions  # the colloquial 泡 expanded to formal terms, shown to the agent


def test_kind_filter_limits_cards(
    demo_services: Services, data_dir_env: pytest.MonkeyPatch
) -> None:
    data_dir_env.setenv("POLICYDESK_DATA_DIR", str(demo_services.settings.data_dir))
    app = _open(demo_services)
    app.multiselect(key="kinds").set_value([PassageKind.CASE])
    app = _submit(app, "酒驾撞人")
    assert not app.exception
    captions = [c.value for c in app.caption]
    assert any("示例" in c or "Illustrative" in c for c in captions)
    card_titles = [m.value for m in app.markdown if m.value.startswith("**")]
    assert card_titles and all("示例案例" in title for title in card_titles)


def test_missing_index_shows_a_warning_not_a_traceback(
    tmp_path: Path, data_dir_env: pytest.MonkeyPatch, migrated_database: SessionDatabases
) -> None:
    settings = migrated_settings(tmp_path / "empty", migrated_database)
    data_dir_env.setenv("POLICYDESK_DATA_DIR", str(settings.data_dir))
    empty = Services(settings)  # an account, but no index
    app = _open(empty)
    app = _submit(app, "车被偷了")
    assert not app.exception
    assert app.warning and "make setup" in app.warning[0].value


def test_over_long_query_shows_an_error(
    demo_services: Services, data_dir_env: pytest.MonkeyPatch
) -> None:
    data_dir_env.setenv("POLICYDESK_DATA_DIR", str(demo_services.settings.data_dir))
    app = _open(demo_services)
    app = _submit(app, "保" * 2001)
    assert not app.exception
    assert app.error and "2000" in app.error[0].value


def test_app_shell_renders_in_english(
    demo_services: Services, data_dir_env: pytest.MonkeyPatch
) -> None:
    data_dir_env.setenv("POLICYDESK_DATA_DIR", str(demo_services.settings.data_dir))
    app = _open(demo_services, str(PROJECT_ROOT / "app.py"))
    app.selectbox(key="lang").set_value("en").run()
    assert not app.exception
    # The live-call console is an agent's landing page.
    assert any("Live-call assistant" in h.value for h in app.header)
    assert not any("来电助手" in h.value for h in app.header)
