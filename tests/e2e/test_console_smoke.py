"""Smoke journeys through the real console in a real browser: an agent logs in and lands on the
live-call console; an anonymous customer asks the self-service chat and gets a grounded answer."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

from playwright.sync_api import Page, expect

from accounts.passwords import DEMO_PASSWORD
from tests.e2e.conftest import Server, login, screenshot, zh


def test_an_agent_logs_in_and_lands_on_the_live_call_console(console: Server, page: Page) -> None:
    page.goto(console.url)
    expect(page.get_by_role("heading", name=zh("login_header"))).to_be_visible()
    login(page, "agent01", DEMO_PASSWORD)
    # 来电助手: the console's heading, and its entry in the navigation
    expect(page.get_by_role("heading", name=zh("console_header"))).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name=zh("page_console"))).to_be_visible()
    expect(page.get_by_role("heading", name=zh("login_header"))).to_have_count(0)
    screenshot(page, "console-agent01")


def test_an_anonymous_customer_asks_the_chat_and_gets_an_answer_with_citations(
    console: Server, page: Page
) -> None:
    page.goto(console.url)
    # 自助客服（演示）: open to anyone, from the navigation
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=zh("page_chat")).click()
    expect(page.get_by_role("heading", name=zh("chat_header"))).to_be_visible()
    question = "车被水淹了能赔吗"
    box = page.get_by_placeholder(zh("chat_placeholder"))
    box.fill(question)
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.filter(has_text=question)).to_have_count(1)
    # the bot's answer names what it is based on (依据：第…条 …)
    answer = messages.filter(has=page.get_by_text(re.compile(f"^{zh('citations')}：.+")))
    expect(answer).to_have_count(1)
    expect(answer).not_to_contain_text(question)
    screenshot(page, "chat-anonymous")


def test_the_api_says_when_its_models_are_loaded(api: Server) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{api.url}/readyz", timeout=10) as response:
                readiness = json.loads(response.read())
                break
        except urllib.error.HTTPError as exc:  # 503 while the warm-up runs
            assert exc.code == 503 and time.monotonic() < deadline, exc
            time.sleep(0.5)
    assert readiness["ready"] is True
    assert {p["name"] for p in readiness["parts"]} >= {"encoder", "index", "emotion", "chatbot"}


def test_a_supervisor_logs_in_and_sees_the_centres_last_90_days(
    console: Server, page: Page
) -> None:
    page.goto(console.url)
    login(page, "supervisor01", DEMO_PASSWORD)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=zh("page_dashboard")).click()
    # the set-up's demo history: every tile counts contacts, none says the period is empty
    tiles = page.get_by_test_id("stMetric")
    expect(tiles.first).to_be_visible()
    expect(tiles.filter(has_text=zh("kpi_fcr"))).to_have_count(1)
    counts = page.get_by_text(re.compile(r"^计数 n = [1-9]\d*$"))
    expect(counts.first).to_be_visible()
    assert tiles.count() >= 12 and counts.count() >= 10
    expect(page.get_by_text(zh("dash_empty"))).to_have_count(0)
    # the drill-down lists the contacts behind the first figure
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
    screenshot(page, "dashboard-supervisor01")
