"""The shipped guard with its trained judge (make setup) on the red lines the rules used to miss,
on every channel's path through the composition root, and on safe wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from prompts.guard import ComplianceGuard, FindingSource, RuleCategory
from services.root import Services

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def guard(trained_models: Path, tmp_path_factory: pytest.TempPathFactory) -> ComplianceGuard:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("guard") / "var", embedding_model=trained_models
    )
    services = Services(settings)
    assert services.guard_judge is not None
    return services.guard


# what the held-out set caught the rules missing (issue 17)
@pytest.mark.parametrize(
    "text",
    [
        "您加一下我个人微信 lihua_0812，把身份证正反面和银行卡拍照发过来就行。",
        "您打开我发的这个网页，填一下卡号，再把收到的验证码告诉我。",
        "那个定损员就是个新手，他说的您别当真。",
        "您这点常识都没有吗，条款上写得清清楚楚。",
        "我跟您核对一下，身份证号是310101199003071234，对吧？",
        "我这边给您走个特批，直接赔您一万二，不用再等定损了。",
        "报案晚几天也没事，照样赔。",
        "您就说是停车时被撞的，这样好处理一些。",
    ],
)
def test_red_lines_beyond_the_rules_wording_are_caught(guard: ComplianceGuard, text: str) -> None:
    report = guard.check(text)
    assert not report.compliant, text


@pytest.mark.parametrize(
    "text",
    [
        "我不能向您承诺全赔，能赔多少要以定损和审核结果为准。",
        "条款约定，驾驶人饮酒的，保险人不负责赔偿，这点我需要跟您说明。",
        "请在我们官方APP的理赔页面上传身份证照片，不要发给任何个人。",
        "为了您的信息安全，请只报一下身份证后四位。",
        "责任划分要以交警出具的认定书为准。",
        "这个超出我的权限了，我帮您提交给主管审批。",
        "您好，请问有什么可以帮您？",
    ],
)
def test_safe_wording_passes(guard: ComplianceGuard, text: str) -> None:
    assert guard.check(text).compliant, guard.check(text).findings


def test_a_model_finding_says_so_and_its_rewording_passes(guard: ComplianceGuard) -> None:
    report = guard.check("我这边跟领导说一声，内部通融一下，钱下午就给您打过去。")
    model = [f for f in report.findings if f.source is FindingSource.MODEL]
    assert model, report.findings
    assert model[0].confidence is not None and 0 < model[0].confidence <= 1
    for category in RuleCategory:
        assert guard.check(guard.categories[category].rewrite).compliant, category


def test_every_channel_gets_the_judge_from_the_composition_root(
    trained_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("channels") / "var", embedding_model=trained_models
    )
    services = Services(settings)
    favour = "我这边跟领导说一声，内部通融一下，钱下午就给您打过去。"
    assert ComplianceGuard.load(settings.compliance_rules).check(favour).compliant  # rules miss it
    # the console draft (and with it phone and chat sends)
    draft = services.desk().check(favour)
    assert any(f.source is FindingSource.MODEL for f in draft.findings)
    # LLM output when an LLM is configured
    phraser = services.phraser(FakeListChatModel(responses=[favour]))
    assert phraser is not None
    phrased = phraser.phrase_reply("什么时候赔", "我们会尽快处理。", ["条款"])
    assert "通融" not in phrased.text
