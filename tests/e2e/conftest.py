"""The real-browser harness (``make test-e2e``): a data dir, the console and the API as real
servers, Debian's chromium driven by Playwright, and the helpers a journey needs (``login``,
``screenshot``).

The data dir is a copy, made once per session, of the checkout's data dir (``var/``, or
``POLICYDESK_DATA_DIR``) when ``make setup`` has seeded it (``.demo-ingested``) and its database is
at the code's schema (``policydesk db status`` exits 0), which ``make test-e2e`` guarantees;
otherwise it is built here by the real commands (``db upgrade``, ``ingest``, ``customers seed``,
``kb seed``, ``user seed-demo``: one to three minutes on two cores). ``POLICYDESK_E2E_FRESH=1``
forces the build. Either way the servers write (logins, chats) to the copy, never to ``var/``.

The browser is Debian's chromium (``apt-get install chromium fonts-noto-cjk``), never one that
``playwright install`` would download. Every server's log, each screenshot a test takes and one of
the page at each failure go to ``artifacts/e2e/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from core.settings import PROJECT_ROOT, Settings
from tests.conftest import require_built
from ui.i18n import STRINGS

ARTIFACTS = PROJECT_ROOT / "artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: without the background-networking switches chromium waits on
# refused connections (component updates, sync, QUIC probes) and a launch can hang.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
# what one step of a journey may wait for (a rerun, an answer), in milliseconds
STEP_TIMEOUT_MS = 30_000
# what a server may take to answer its first request (the API loads its models before it does)
START_TIMEOUT_S = 180.0
# the same steps as the Makefile's data-dir recipe (.schema-current, .demo-ingested)
DEMO_SET_UP: tuple[tuple[str, ...], ...] = (
    ("db", "upgrade"),
    ("ingest", "data/clauses", "data/cases"),
    ("customers", "seed"),
    ("kb", "seed"),
    ("user", "seed-demo"),
    ("demo", "history"),
)
SEEDED = ".demo-history"

# Playwright's assertions wait 5 s by default; a chat answer on two busy cores can take longer
expect.set_options(timeout=STEP_TIMEOUT_MS)


def zh(key: str) -> str:
    """A console string as a Chinese-speaking visitor sees it (the console's default language)."""
    return STRINGS[key]["zh"]


# ----- processes --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(data_dir: Path | None = None) -> dict[str, str]:
    """The environment of a command or server started here: this checkout first on the path (the
    shared venv may hold an editable install of another checkout), and the data dir when given."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if part
    )
    env["PYTHONUNBUFFERED"] = "1"
    if data_dir is not None:
        env["POLICYDESK_DATA_DIR"] = str(data_dir)
    return env


def policydesk(data_dir: Path, args: Sequence[str], log: IO[str]) -> int:
    """Run one ``policydesk`` command on ``data_dir``; its output goes to ``log``.

    ``python -m cli.main`` rather than ``.venv/bin/policydesk``: the script of a shared venv may
    belong to another checkout.

    Returns:
        The command's exit status.
    """
    command = [sys.executable, "-m", "cli.main", "--data-dir", str(data_dir), *args]
    log.write(f"$ policydesk --data-dir {data_dir} {' '.join(args)}\n")
    log.flush()
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        timeout=900,
        check=False,
    )
    return done.returncode


@dataclass
class Server:
    """A server started for the session: its address, its process and where it logs."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for a failure message."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def start_server(name: str, command: Sequence[str], port: int, data_dir: Path | None) -> Server:
    """Start a server in the background on ``port``, logging to ``artifacts/e2e/<name>.log``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            cwd=PROJECT_ROOT,
            env=child_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Server(name=name, url=f"http://127.0.0.1:{port}", process=process, log=log)


def wait_until_answers(server: Server, path: str, timeout: float = START_TIMEOUT_S) -> float:
    """Wait until ``GET path`` answers 200; fail with the log's tail when the server dies or
    ``timeout`` seconds pass.

    Returns:
        The seconds it took.
    """
    started = time.monotonic()
    while True:
        if server.process.poll() is not None:
            pytest.fail(
                f"{server.name} exited ({server.process.returncode}) before it answered "
                f"{path}; its log ({server.log}) ends:\n{server.log_tail()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(server.url + path, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet, or still starting
        if time.monotonic() - started > timeout:
            stop_server(server)
            pytest.fail(
                f"{server.name} did not answer {path} within {timeout:.0f} s; its log "
                f"({server.log}) ends:\n{server.log_tail()}",
                pytrace=False,
            )
        time.sleep(0.25)


def stop_server(server: Server) -> None:
    """Stop the server (SIGTERM, then SIGKILL after ten seconds) and reap it."""
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def streamlit_command(script: str, port: int) -> list[str]:
    """``streamlit run`` for ``script`` on the loopback interface; no file watcher (nothing is
    edited during a run, and watching the checkout costs a core on this machine)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


STREAMLIT_HEALTH = "/_stcore/health"


@pytest.fixture(scope="session", autouse=True)
def artifacts() -> Path:
    """``artifacts/e2e/``, emptied once per session: what is there after a run is that run's."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


# ----- the data dir -----------------------------------------------------------------------------


def is_current(data_dir: Path) -> bool:
    """True when ``make setup`` seeded ``data_dir`` and its database is at the code's schema."""
    if not (data_dir / SEEDED).exists():
        return False
    with (ARTIFACTS / "data-dir.log").open("a", encoding="utf-8") as log:
        return policydesk(data_dir, ("db", "status"), log) == 0


def build_data_dir(data_dir: Path) -> None:
    """Build a demo data dir from scratch with the real commands (as ``make setup`` does)."""
    with (ARTIFACTS / "data-dir.log").open("a", encoding="utf-8") as log:
        for step in DEMO_SET_UP:
            status = policydesk(data_dir, step, log)
            if status != 0:
                pytest.fail(
                    f"`policydesk {' '.join(step)}` exited {status}: see {log.name}",
                    pytrace=False,
                )
    (data_dir / SEEDED).touch()


@pytest.fixture(scope="session")
def e2e_data_dir(trained_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's demo data dir: a copy of the checkout's when it is current, else a fresh
    build (module docstring). Needs the models ``make setup`` builds."""
    target = tmp_path_factory.mktemp("e2e") / "var"
    source = Settings().data_dir
    if os.environ.get("POLICYDESK_E2E_FRESH") != "1" and is_current(source):
        shutil.copytree(source, target)
    else:
        build_data_dir(target)
    return target


# ----- the servers ------------------------------------------------------------------------------


@dataclass
class Servers:
    """The console and the API, both on the session's data dir."""

    console: Server
    api: Server


@pytest.fixture(scope="session")
def servers(e2e_data_dir: Path, browser: Browser) -> Iterator[Servers]:
    """The console (``streamlit run app.py``) and the API (``uvicorn --factory
    api.app:create_app``), started together, each answering before any test runs.

    The console builds its services on its first page; one anonymous visit to the chat page
    here does that (loading the encoder, the index and the emotion model), so that no journey
    pays for it.
    """
    console_port, api_port = free_port(), free_port()
    console = start_server(
        "console", streamlit_command("app.py", console_port), console_port, e2e_data_dir
    )
    api = start_server(
        "api",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        ],
        api_port,
        e2e_data_dir,
    )
    try:
        with (ARTIFACTS / "startup.log").open("a", encoding="utf-8") as log:
            seconds = wait_until_answers(console, STREAMLIT_HEALTH)
            log.write(f"console answered in {seconds:.1f} s\n")
            seconds = wait_until_answers(api, "/healthz")
            log.write(f"api answered in {seconds:.1f} s\n")
            started = time.monotonic()
            warm_up(browser, console)
            log.write(f"console warmed up in {time.monotonic() - started:.1f} s\n")
        yield Servers(console=console, api=api)
    finally:
        stop_server(console)
        stop_server(api)


def warm_up(browser: Browser, console: Server) -> None:
    """Open the chat page once, so that the console's services are built before the first test."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{console.url}/chat")
        expect(page.get_by_placeholder(zh("chat_placeholder"))).to_be_visible(
            timeout=START_TIMEOUT_S * 1000
        )
    finally:
        context.close()


@pytest.fixture(scope="session")
def console(servers: Servers) -> Server:
    """The console, answering and warmed up."""
    return servers.console


@pytest.fixture(scope="session")
def api(servers: Servers) -> Server:
    """The HTTP API, answering (its chatbot loaded)."""
    return servers.api


@pytest.fixture(scope="session")
def live_text_page() -> Iterator[Server]:
    """The test-only page ``tests/e2e/live_text_page.py`` (the live text area and an echo of its
    text), served alone: it reads no data dir and loads no model."""
    port = free_port()
    server = start_server(
        "live-text-page", streamlit_command("tests/e2e/live_text_page.py", port), port, None
    )
    try:
        wait_until_answers(server, STREAMLIT_HEALTH)
        yield server
    finally:
        stop_server(server)


# ----- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, for the session (each test gets its own context)."""
    require_built(
        CHROMIUM,
        "Debian's chromium",
        "`make test-e2e` installs it (or `apt-get install chromium fonts-noto-cjk`); never "
        "`playwright install`",
    )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so that ``page`` knows at teardown whether it
    failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[call.when] = report
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page (its own cookies, so its own Streamlit session) at 1440×900; when the test
    fails, a screenshot of it as ``artifacts/e2e/FAILED-<test>.png``."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    yield page
    reports = request.node.stash.get(REPORTS, {})
    if "call" in reports and reports["call"].failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


# ----- helpers for a journey --------------------------------------------------------------------


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``artifacts/e2e/<name>.png`` (CI keeps the folder).

    Returns:
        The file written.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def login(page: Page, username: str, password: str) -> None:
    """Log in through the sidebar's form, as a person would, and wait until the sidebar names the
    user (the console then shows the role's landing page)."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label(zh("username")).fill(username)
    sidebar.get_by_label(zh("password"), exact=True).fill(password)
    sidebar.get_by_role("button", name=zh("login"), exact=True).click()
    expect(sidebar.get_by_text(f"（{username}）")).to_be_visible()
