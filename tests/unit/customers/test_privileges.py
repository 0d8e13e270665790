"""Member privileges (pure): the shipped file, a bad file's error, quota arithmetic, and which
agent sentences offer what the customer's tier does not include."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.errors import ConfigurationError
from core.settings import Settings
from customers.bookings import usage_of
from customers.models import MemberTier
from customers.privileges import PrivilegeBook, PrivilegeError, load_privileges, offer_findings
from prompts.guard import RuleCategory

SHIPPED = Settings().privileges_file
REGULAR, THREE, FOUR, FIVE = MemberTier


@pytest.fixture(scope="module")
def book() -> PrivilegeBook:
    return load_privileges(SHIPPED)


def test_the_shipped_file_keeps_the_tiers_meaning(book: PrivilegeBook) -> None:
    quotas = {t: {a.key: a.quota for a in book.allowances(t)} for t in MemberTier}
    assert quotas[REGULAR] == {"roadside_rescue": 2}
    assert quotas[THREE] == {"roadside_rescue": 4, "inspection_run": 1}
    assert quotas[FOUR] == {"roadside_rescue": None, "inspection_run": 1, "designated_driver": 4}
    assert quotas[FIVE] == {
        "roadside_rescue": None,
        "inspection_run": None,
        "designated_driver": 12,
        "claim_advisor": None,
    }
    assert book.labels(REGULAR) == ["道路救援（每年2次）"]
    assert "免费酒后代驾（每年12次）" in book.labels(FIVE)
    assert book.allowance(THREE, "designated_driver") is None
    with pytest.raises(PrivilegeError, match="valet"):
        book.rule("valet")


def test_requests_are_recognised(book: PrivilegeBook) -> None:
    assert book.recognise("我喝了酒，能帮我叫个代驾吗") == "designated_driver"
    assert book.recognise("车在高速上抛锚了，要拖车") == "roadside_rescue"
    assert book.recognise("年检快到期了，你们能代办吗") == "inspection_run"
    assert book.recognise("保单续保多少钱") is None


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    data.update(change)
    path = tmp_path / "privileges.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("tiers", "named"),
    [
        ({"普通": {"roadside_rescue": 0}}, "roadside_rescue"),
        ({"普通": {"roadside_rescue": "lots"}}, "roadside_rescue"),
        ({"普通": {"valet": 2}}, "valet"),
        ({"普通": {"roadside_rescue": 2}}, "三星"),  # tiers missing
        (
            {
                "普通": {"roadside_rescue": 5},
                "三星": {"roadside_rescue": 4},
                "四星": {"roadside_rescue": 4},
                "五星": {"roadside_rescue": 4},
            },
            "fewer uses",
        ),
        (
            {
                "普通": {"designated_driver": 1},
                "三星": {},
                "四星": {"designated_driver": 1},
                "五星": {"designated_driver": 1},
            },
            "lacks designated_driver",
        ),
    ],
)
def test_a_bad_file_is_a_typed_error_naming_the_field(
    tmp_path: Path, tiers: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_privileges(_write(tmp_path, {"tiers": tiers}))


def test_a_bad_pattern_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="bad regular expression"):
        load_privileges(_write(tmp_path, {"unless": ["(不包含"]}))


def test_unlimited_is_written_as_a_word(tmp_path: Path) -> None:
    tiers = {t.value: {"roadside_rescue": "不限"} for t in MemberTier}
    assert load_privileges(_write(tmp_path, {"tiers": tiers})).allowances(REGULAR)[0].quota is None


def test_quota_arithmetic(book: PrivilegeBook) -> None:
    items = {u.key: u for u in usage_of(book, FOUR, {"designated_driver": 3, "roadside_rescue": 7})}
    assert (items["designated_driver"].used, items["designated_driver"].left) == (3, 1)
    assert items["designated_driver"].display == "免费酒后代驾 3/4 剩余1"
    assert items["roadside_rescue"].left is None
    assert items["roadside_rescue"].display == "道路救援 已用7次（不限次）"
    assert items["inspection_run"].used == 0 and items["inspection_run"].left == 1
    # more uses than the quota (the tier went down): nothing left, never negative
    regular = usage_of(book, REGULAR, {"roadside_rescue": 3, "designated_driver": 2})
    assert [(u.key, u.left) for u in regular] == [("roadside_rescue", 0)]


@pytest.mark.parametrize(
    ("tier", "sentence", "rule"),
    [
        (REGULAR, "我这边给您安排免费代驾，司机十分钟到。", "privilege-designated_driver"),
        (REGULAR, "喝酒了别开车，我帮您叫个代驾，费用我们出。", "privilege-designated_driver"),
        (THREE, "代驾不收费的，您随时叫。", "privilege-designated_driver"),
        (THREE, "您放心，救援是不限次的。", "privilege-roadside_rescue"),
        (THREE, "我们给您提供不限次道路救援。", "privilege-roadside_rescue"),
        (REGULAR, "年检也可以帮您代办年检，免费的。", "privilege-inspection_run"),
        (FOUR, "给您安排专属理赔顾问全程跟进。", "privilege-claim_advisor"),
        (FOUR, "年检代办不限次数，随时找我们。", "privilege-inspection_run"),
    ],
)
def test_offers_beyond_the_tier_are_findings(
    book: PrivilegeBook, tier: MemberTier, sentence: str, rule: str
) -> None:
    findings = offer_findings(sentence, tier, book)
    assert [f.rule for f in findings] == [rule]
    assert findings[0].category is RuleCategory.PROMISE
    assert tier.value in findings[0].reason
    assert findings[0].sentence == sentence


@pytest.mark.parametrize(
    ("tier", "sentence"),
    [
        (REGULAR, "您是普通会员，暂不包含免费代驾。"),
        (REGULAR, "普通会员不享有免费代驾服务，抱歉。"),
        (THREE, "升级到四星会员就可以享受免费代驾。"),
        (THREE, "请问您需要代驾吗？"),
        (REGULAR, "我可以帮您叫个代驾，费用需要您自己承担。"),
        (REGULAR, "我帮您安排道路救援，拖车马上到。"),
        (FOUR, "我帮您安排免费代驾。"),
        (FOUR, "我们提供不限次道路救援。"),
        (FIVE, "给您安排专属理赔顾问全程跟进。"),
        (THREE, "三星会员道路救援每年4次，您今年还剩2次。"),
    ],
)
def test_what_the_tier_includes_or_an_explanation_is_not_a_finding(
    book: PrivilegeBook, tier: MemberTier, sentence: str
) -> None:
    assert offer_findings(sentence, tier, book) == []


def test_one_finding_per_sentence_and_privilege(book: PrivilegeBook) -> None:
    text = "免费代驾给您安排上，代驾不收费。另外救援也没问题。"
    findings = offer_findings(text, REGULAR, book)
    assert [f.rule for f in findings] == ["privilege-designated_driver"]
