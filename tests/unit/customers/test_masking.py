from __future__ import annotations

from core.masking import mask_id_number, mask_name, mask_phone, redact, salutation


def test_masks_keep_only_what_an_agent_needs() -> None:
    assert mask_phone("19312345678") == "193****5678"
    assert mask_id_number("99912319900101123X") == "999***********123X"
    assert mask_name("王小明") == "王*明"
    assert mask_name("李娜") == "李*"
    assert salutation("王小明", "M") == "王先生"
    assert salutation("李娜", "F") == "李女士"


def test_redact_masks_numbers_inside_free_text() -> None:
    text = "客户手机19312345678，身份证99912319900101123X，卡号6217000123456789012。"
    cleaned = redact(text)
    assert "19312345678" not in cleaned and "193****5678" in cleaned
    assert "99912319900101123X" not in cleaned
    assert "6217000123456789012" not in cleaned
    assert redact("保单号P2026000040，金额3000元") == "保单号P2026000040，金额3000元"
