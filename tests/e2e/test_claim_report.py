"""一键报案 in a real browser: a customer reports an accident in the chat, sends two photos at
once through 发送照片/文件 and confirms; the bot answers with the claim number. Then an agent opens
that customer at the console and sees the new claim with both photos as thumbnails.

The customer is one of the seeded demo customers with one policy in force today (read from the
servers' database, never written here): the report then asks for no vehicle. The agent opens the
profile the way the console offers without a live call: 客户 → search by the policy number → pick
the customer → 开始新通话 (a call started at the console), whose 客户信息 tab is the profile.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from accounts.passwords import DEMO_PASSWORD
from core.settings import Settings
from services.root import Services
from tests.conftest import ReportingCustomer, reporting_customer
from tests.e2e.conftest import Server, login, screenshot, zh

AGENT = "agent01"
CLAIM_NO = re.compile(r"RC\d{8,}")


def _customer(data_dir: Path) -> ReportingCustomer:
    """The demo customer who reports, from the servers' database."""
    services = Services(Settings(data_dir=data_dir))
    try:
        return reporting_customer(services)
    finally:
        services.engine.dispose()


def _photos(folder: Path) -> list[Path]:
    """Two small JPEGs, as a phone's camera would send them (the whole car, the damage)."""
    paths = []
    for name, colour in (("全景.jpg", (180, 40, 40)), ("受损部位.jpg", (40, 120, 200))):
        path = folder / name
        Image.new("RGB", (640, 480), colour).save(path, format="JPEG")
        paths.append(path)
    return paths


def _say(page: Page, text: str) -> str:
    """Type a message, wait for the bot's answer below it, and return the answer's text."""
    messages = page.get_by_test_id("stChatMessage")
    before = messages.count()
    box = page.get_by_placeholder(zh("chat_placeholder"))
    box.fill(text)
    box.press("Enter")
    expect(messages).to_have_count(before + 2)  # the customer's message and the answer
    return messages.last.inner_text()


def test_a_customer_reports_an_accident_with_two_photos_and_the_agent_sees_them(
    console: Server, page: Page, e2e_data_dir: Path, tmp_path: Path
) -> None:
    customer = _customer(e2e_data_dir)
    page.goto(f"{console.url}/chat")
    expect(page.get_by_role("heading", name=zh("chat_header"))).to_be_visible()
    expect(page.get_by_test_id("stChatMessage")).to_have_count(1)  # the greeting
    assert "身份" in _say(page, "我要报案")  # the identity check comes first
    for text in (
        customer.identity,
        "刚才",
        "深南大道科技园路口",
        "等红灯被后车追尾，后保险杠凹了",
        "没有人受伤",
    ):
        _say(page, text)
    assert "照片" in _say(page, "对方车牌粤B12345")

    # 发送照片/文件: both photos picked at once, sent as one message
    page.get_by_text(zh("upload_header")).click()
    uploader = page.get_by_test_id("stFileUploader")
    uploader.locator("input[type=file]").set_input_files(_photos(tmp_path))
    expect(uploader.get_by_text("受损部位.jpg")).to_be_visible()
    messages = page.get_by_test_id("stChatMessage")
    before = messages.count()
    send = page.get_by_role("button", name=zh("upload_send"))
    expect(send).to_be_enabled()
    send.click()
    expect(messages).to_have_count(before + 2)
    expect(messages.nth(before)).to_contain_text("（发送了2个文件）")
    expect(messages.last).to_contain_text("确认提交吗")
    expect(messages.last).to_contain_text("现场照片：2 个文件")
    expect(page.get_by_text(zh("upload_refused"))).to_have_count(0)

    found = CLAIM_NO.search(_say(page, "确认"))
    assert found is not None, "the bot's reply names no claim number"
    claim_no = found.group()
    screenshot(page, "claim-report-chat")

    # the agent: the console's 客户 search, the customer picked, a call started at the console
    page.goto(console.url)
    login(page, AGENT, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name=zh("console_header"))).to_be_visible()
    search = page.get_by_label(zh("customer_search"))
    search.fill(customer.policy_no)
    search.press("Enter")
    page.get_by_role("combobox", name=zh("customer"), exact=True).click()
    # the one customer found: the masked phone ends in the digits the customer gave
    page.get_by_role("option").filter(has_text=customer.phone_last4).click()
    page.get_by_role("button", name=zh("start_call")).click()
    expect(page.get_by_role("tab", name=zh("profile"))).to_be_visible()

    # the new claim's own bordered box (the innermost block with its number and an image)
    claim = (
        page.get_by_test_id("stVerticalBlock")
        .filter(has_text=claim_no)
        .filter(has=page.get_by_test_id("stImage"))
        .last
    )
    thumbnails = claim.get_by_test_id("stImage").locator("img")
    expect(thumbnails).to_have_count(2)
    expect(claim).to_contain_text("全景.jpg")
    expect(claim).to_contain_text("受损部位.jpg")
    for index in range(2):  # each thumbnail really loaded, not a broken image
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=thumbnails.nth(index).element_handle(),
        )
    claim.scroll_into_view_if_needed()
    screenshot(page, "claim-report-console")
