"""A live call in a real browser: the telephony stand-in (``policydesk calls simulate``) feeds a
recorded call to a logged-in agent through the call API, and the console follows it by itself.

Checked, at 1440×900:
* the call opens on the agent's console by itself (screen pop);
* the mood alert, the soothing script, the suggested reply and the top card are in the viewport
  (no scrolling) within 2 s of the caller's final segment reaching the API;
* every final segment shows in the browser within ``VISIBLE_WITHIN_S`` of reaching the API (the
  p95 goes to ``artifacts/e2e/segment-visible.json`` for ``make bench``);
* a red-line draft cannot be sent, its finding reads in words, and one click takes the rewording;
* a chat handed over by the bot appears in the agent's inbox without a click.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from accounts.passwords import DEMO_PASSWORD
from core.masking import redact
from core.metrics import percentiles
from core.settings import PROJECT_ROOT
from tests.e2e.conftest import (
    ARTIFACTS,
    VIEWPORT,
    Server,
    child_env,
    login,
    screenshot,
    zh,
)

CALL = PROJECT_ROOT / "data" / "demo" / "calls" / "02_angry_refusal.jsonl"
AGENT = "agent01"
GUIDANCE_WITHIN_S = 2.0  # the promise for the guidance after a segment
VISIBLE_WITHIN_S = 1.5  # the target for a segment's text, p95
RED_LINE = "您放心，这个肯定全赔。"
COMPONENT = "ui.components.live_text"
# In the page: when each turn's final text (and the mood alert) first shows, by the browser's
# clock (the machine's), checked after each batch of changes to the page.
WATCH = """({texts, alert}) => {
    window.seen = {};
    let queued = false;
    const check = () => {
        queued = false;
        const now = Date.now();
        const said = Array.from(
            document.querySelectorAll('[data-testid="stChatMessage"]'), (m) => m.textContent
        );
        texts.forEach((text, seq) => {
            if (!(seq in window.seen) && said.some((m) => m.includes(text))) window.seen[seq] = now;
        });
        if (!("alert" in window.seen) && document.body.textContent.includes(alert)) {
            window.seen.alert = now;
        }
    };
    new MutationObserver(() => {
        if (!queued) { queued = true; queueMicrotask(check); }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _calls_key(data_dir: Path) -> str:
    """A new calls-scoped API key on the servers' data dir (the connector's credentials)."""
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "--data-dir", str(data_dir), "apikey", "create",
         f"e2e-telephony-{time.monotonic_ns()}", "--scope", "calls", "--json"],
        cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    key: str = json.loads(done.stdout)["key"]
    return key


def _get(api: Server, path: str, key: str) -> Any:
    request = urllib.request.Request(api.url + path, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _in_view(locator: Locator) -> None:
    """Visible in the 1440×900 viewport as it stands (nothing scrolled into view)."""
    expect(locator).to_be_visible(timeout=100)
    box = locator.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + min(box["height"], 40) <= VIEWPORT["height"], box


def test_a_simulated_call_reaches_the_agents_console_and_its_guidance_stays_in_view(
    console: Server, api: Server, page: Page, e2e_data_dir: Path, tmp_path: Path
) -> None:
    key = _calls_key(e2e_data_dir)
    page.goto(console.url)
    login(page, AGENT, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name=zh("console_header"))).to_be_visible()

    turns = [redact(json.loads(line)["text"]) for line in CALL.read_text("utf-8").splitlines()]
    page.evaluate(WATCH, {"texts": turns, "alert": zh("alert")})
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / CALL.name).write_bytes(CALL.read_bytes())
    simulator = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "calls", "simulate", "--api", api.url, "--key", key,
         "--agents", "1", "--agent", AGENT, "--calls", str(folder), "--pace", "realtime",
         "--leave-open", "--json"],
        cwd=PROJECT_ROOT, env=child_env(e2e_data_dir), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, _ = simulator.communicate(timeout=180)
    finally:
        if simulator.poll() is None:
            simulator.kill()
    page.wait_for_function(
        "n => Object.keys(window.seen).length >= n", arg=len(turns) + 1, timeout=10_000
    )
    seen: dict[str, float] = {k: v / 1000 for k, v in page.evaluate("window.seen").items()}
    report = json.loads(out)
    assert report["errors"] == [] and report["segments"] == len(turns)

    live = [c for c in _get(api, "/v1/calls?state=live", key)["items"] if c["agent"] == AGENT]
    call = _get(api, f"/v1/calls/{live[0]['call_id']}", key)
    finals = {s["seq"]: s for s in call["segments"] if s["final"]}
    first = datetime.fromisoformat(finals[0]["received_at"]).timestamp()
    guidance = seen["alert"] - first
    assert guidance <= GUIDANCE_WITHIN_S, f"guidance after {guidance:.2f} s"

    # the segment's text in the transcript: a final one replaces the interim pieces with the
    # same text, so its arrival is the first time the whole text shows
    delays = [
        seen[str(seq)] - datetime.fromisoformat(s["received_at"]).timestamp()
        for seq, s in finals.items()
    ]
    (p50, p95) = percentiles(delays, [50, 95])
    (ARTIFACTS / "segment-visible.json").write_text(
        json.dumps(
            {
                "segments": len(delays),
                "p50_s": p50,
                "p95_s": p95,
                "max_s": max(delays),
                "received": {seq: s["received_at"] for seq, s in finals.items()},
                "seen": seen,
            }
        ),
        encoding="utf-8",
    )
    assert p95 <= VISIBLE_WITHIN_S, delays

    # the guidance above the fold, as it stands after the last caller turn
    _in_view(page.get_by_text(zh("alert")).first)
    _in_view(page.get_by_text(zh("soothing_script")).first)
    _in_view(page.get_by_text(f"{zh('suggestion')}：").first)
    _in_view(page.get_by_text(zh("actions")).first)
    _in_view(page.get_by_text("1. ").first)  # the top card
    screenshot(page, "live-call-guidance")

    # a red line cannot go into the call: the finding in words, one click takes the rewording
    box = page.frame_locator(f'iframe[title="{COMPONENT}"]').get_by_label(zh("draft"))
    box.click()
    page.keyboard.type(RED_LINE)
    send = page.get_by_role("button", name=zh("send_phone"))
    expect(page.get_by_text(zh("rewrite"))).to_be_visible(timeout=3_000)  # checked as typed
    expect(send).to_be_disabled()
    expect(page.get_by_text("promise-full-payout")).to_have_count(0)
    screenshot(page, "live-call-red-line")
    page.get_by_role("button", name=zh("take_rewrite")).click()
    expect(box).not_to_have_value(RED_LINE)
    expect(send).to_be_enabled()


def test_a_chat_handoff_arrives_in_the_agents_inbox_without_a_click(
    console: Server, browser: Browser, page: Page
) -> None:
    page.goto(console.url)
    login(page, AGENT, DEMO_PASSWORD)
    inbox = page.get_by_text(f"🔔 {zh('inbox')}")
    expect(inbox).to_be_visible()
    before = inbox.inner_text()

    customer = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        customer.goto(f"{console.url}/chat")
        box = customer.get_by_placeholder(zh("chat_placeholder"))
        box.fill("我们撞车了，对方的人腿在流血，现在怎么办")
        box.press("Enter")
        expect(customer.get_by_text("已转人工")).to_be_visible()
    finally:
        customer.context.close()
    # nothing is clicked on the agent's page: the inbox's count changes and a toast says so
    expect(page.get_by_text(zh("new_handoff")).first).to_be_visible(timeout=5_000)
    expect(inbox).not_to_have_text(before, timeout=5_000)
    screenshot(page, "handoff-arrived")
