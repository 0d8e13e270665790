"""UI test fixtures: a small studio on a temp data dir (fake embedder) and logging a session in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from accounts.models import Role, User
from accounts.passwords import PasswordHashing
from accounts.store import DuplicateUserError
from core.settings import PROJECT_ROOT
from services.root import Services
from tests.conftest import SessionDatabases, migrated_settings, with_private_database
from tests.fakes import TEST_CLAUSES, FakeEmbedder
from ui.auth import USER
from ui.resources import use_services_for_tests

PAGES = PROJECT_ROOT / "ui" / "pages"
APP = str(PROJECT_ROOT / "app.py")

CLAUSES = (
    TEST_CLAUSES
    + """### 第三条
驾驶人饮酒、吸食或注射毒品后驾驶被保险机动车造成的损失，保险人不负责赔偿。
"""
)

# the studio's accounts: username -> roles (password: ``password(username)``)
ACCOUNTS: dict[str, list[Role]] = {
    "tina": [Role.TRAINER],
    "rita": [Role.REVIEWER],
    "sam": [Role.SUPERVISOR],
    "alan": [Role.AGENT],
}


def password(username: str) -> str:
    """Each account's own password, within the policy (mixed characters, not the username)."""
    return f"Desk-{username[0].upper()}{len(username)}-Pass"


def page(name: str) -> str:
    """The path of a page script under ui/pages."""
    return str(PAGES / f"{name}.py")


def ensure_account(services: Services, username: str, roles: list[Role]) -> User:
    """The account, created when missing (session-scoped data dirs outlive one test)."""
    try:
        return services.accounts.add(username, password(username), roles)
    except DuplicateUserError:
        return services.accounts.get(username)


def logged_in(app: AppTest, services: Services, username: str) -> AppTest:
    """The app with this user's session (as after a successful login)."""
    app.session_state[USER] = services.accounts.get(username)
    return app


def run(app: AppTest) -> AppTest:
    """Run and fail on any exception the page raised."""
    app = app.run()
    assert not app.exception, app.exception
    return app


def click(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click()
    return run(app)


def click_job(app: AppTest, services: Services, key: str) -> AppTest:
    """Click a button that submits a background job, let the job run (inline, in this process's
    thread), and render the page again, as its progress fragment does when the job ends."""
    app = click(app, key)
    assert services.job_submitter.wait(timeout=60), "the job did not finish within a minute"
    return run(app)


def texts(app: AppTest) -> str:
    """Every message, markdown and caption on the page, one per line."""
    parts = [str(m.value) for m in app.markdown]
    for group in (app.caption, app.info, app.success, app.warning, app.error):
        parts.extend(str(e.value) for e in group)
    return "\n".join(parts)


@pytest.fixture
def studio_services(tmp_path: Path, migrated_database: SessionDatabases) -> Iterator[Services]:
    """A small published knowledge base, golden questions and one account per role, on a temp
    data dir with real SQLite and chromadb and the fake embedder; every page's ``get_services``
    returns these services for the test. No model under models/ is read: the model settings
    name a folder that does not exist."""
    no_model = tmp_path / "no-model"
    services = Services(
        migrated_settings(
            tmp_path / "var",
            migrated_database,
            embedding_model=no_model,
            sentiment_model=no_model / "sentiment",
            routing_model=no_model / "routing",
        ),
        embedder=FakeEmbedder(),
        passwords=PasswordHashing.fast_for_tests(),
    )
    accounts = services.accounts
    for username, roles in ACCOUNTS.items():
        accounts.add(username, password(username), roles)
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    services.ingest.ingest([kb])
    services.studio.seed_published(services.catalog.passages())
    services.golden.add("车被水淹了能赔吗", ["t-1"], "涉水", author="tina")
    services.golden.add("车被偷了找不到怎么办", ["t-2"], "盗抢", author="tina")
    services.golden.add("充电桩起火烧了车能赔吗", ["nev-1"], "新能源", author="tina")
    use_services_for_tests(services)
    yield services
    use_services_for_tests(None)
    services.engine.dispose()


DEMO_AGENT = "a007"


@pytest.fixture
def demo_pages(
    demo_services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Services]:
    """Pages pointed at the demo data dir (real model and index) over a private copy of its
    database (the queue and the calls other tests leave behind never reach this one's inbox),
    with demo customers and an agent account ``DEMO_AGENT``."""
    from customers.demo import generate
    from ui.resources import get_services

    settings = with_private_database(demo_services.settings, tmp_path)
    services = Services(settings, embedder=demo_services.embedder)
    if not services.customers.count():
        services.customers.load_records(generate(40))
    ensure_account(services, DEMO_AGENT, [Role.AGENT])
    monkeypatch.setenv("POLICYDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("POLICYDESK_DATABASE_URL", str(settings.database_url))
    get_services.clear()
    yield services
    get_services.clear()
