"""The live text area in a real browser, on the test-only page ``live_text_page.py``: what an
agent types reaches the script without leaving the box (Chinese, and IME compositions once
committed), and a text the app puts into the box replaces what is there."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Server
from tests.e2e.live_text_page import ECHO, LABEL, SUGGESTION

COMPONENT = "ui.components.live_text"  # the iframe's title: the component's full name
# the promise: the script sees the text this soon after the last keystroke (300 ms of it is the
# debounce, the rest one rerun)
ECHO_WITHIN_MS = 1_500
# longer than the debounce: a report the box was going to send has gone by then
PAST_DEBOUNCE_MS = 900
# every report the box sends, as the parent page receives it
RECORD_REPORTS = """() => {
    window.reports = [];
    window.addEventListener("message", (event) => {
        if (event.data && event.data.type === "streamlit:setComponentValue") {
            window.reports.push(event.data.value.text);
        }
    });
}"""


def open_box(page: Page, server: Server) -> Locator:
    """The page, loaded, and its box, focused."""
    page.goto(server.url)
    box = page.frame_locator(f'iframe[title="{COMPONENT}"]').get_by_label(LABEL)
    expect(box).to_be_visible()
    expect(page.get_by_text(ECHO, exact=True)).to_be_visible()
    box.click()
    return box


def echoed(page: Page, text: str) -> None:
    expect(page.get_by_text(ECHO + text, exact=True)).to_be_visible(timeout=ECHO_WITHIN_MS)


def test_typed_chinese_reaches_the_script_while_the_box_keeps_the_focus(
    live_text_page: Server, page: Page
) -> None:
    box = open_box(page, live_text_page)
    page.keyboard.type("车被水淹了能赔吗")
    echoed(page, "车被水淹了能赔吗")
    assert box.evaluate("box => box.ownerDocument.activeElement === box")


def test_an_ime_composition_is_reported_once_committed_never_its_pinyin(
    live_text_page: Server, page: Page
) -> None:
    box = open_box(page, live_text_page)
    page.evaluate(RECORD_REPORTS)
    # what a pinyin IME does: an open composition, then the chosen character commits it
    ime = page.context.new_cdp_session(page)
    ime.send("Input.imeSetComposition", {"text": "shui", "selectionStart": 4, "selectionEnd": 4})
    expect(box).to_have_value("shui")
    page.wait_for_timeout(PAST_DEBOUNCE_MS)
    assert page.evaluate("window.reports") == []
    ime.send("Input.insertText", {"text": "水"})
    echoed(page, "水")
    assert page.evaluate("window.reports") == ["水"]


def test_a_text_the_app_puts_into_the_box_replaces_it_and_typing_goes_on_from_it(
    live_text_page: Server, page: Page
) -> None:
    box = open_box(page, live_text_page)
    page.keyboard.type("请问")
    echoed(page, "请问")
    page.get_by_role("button", name="填入建议话术").click()
    expect(box).to_have_value(SUGGESTION)
    expect(page.get_by_text(ECHO + SUGGESTION, exact=True)).to_be_visible()
    box.press("End")
    page.keyboard.type("请稍等")
    echoed(page, SUGGESTION + "请稍等")
    expect(box).to_have_value(SUGGESTION + "请稍等")
