"""The shipped wrap-up rules (data/assist/wrapup.yaml) on the twenty reviewed calls
(docs/wrapup_review.md): the facts each summary must state, and the hypotheticals, offers and
look-alike words that must not become facts. The agent turns are checked by the shipped guard;
no model is needed (the caller's need and mood are left out)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assist.calls import read_call
from assist.facts import FactBook
from assist.models import AgentAssist, Disposition, Need
from assist.wrapup import summarize
from conversation.models import Speaker, Turn
from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard
from sentiment.mood import CallMood

DEMO = PROJECT_ROOT / "data" / "demo" / "calls"
REVIEW = PROJECT_ROOT / "tests" / "fixtures" / "wrapup_calls"


@pytest.fixture(scope="module")
def book() -> FactBook:
    return FactBook.load(PROJECT_ROOT / "data" / "assist" / "wrapup.yaml")


@pytest.fixture(scope="module")
def guard() -> ComplianceGuard:
    return ComplianceGuard.load(PROJECT_ROOT / "prompts" / "compliance_rules.yaml")


def _views(turns: list[Turn], guard: ComplianceGuard) -> list[AgentAssist]:
    return [
        AgentAssist(
            turn=number,
            speaker=turn.speaker,
            mood=CallMood(),
            intent=Need(),
            compliance=guard.check(turn.text) if turn.speaker is Speaker.AGENT else None,
        )
        for number, turn in enumerate(turns)
    ]


# file: (events, requests, commitments, next steps, disposition, finding rules); each list holds
# labels the summary must state (others may come with them)
CASES: dict[str, tuple[list[str], list[str], list[str], list[str], Disposition, list[str]]] = {
    "01_flooded_garage.jsonl": (
        ["地库被淹"],
        ["询问能否理赔"],
        ["已提醒勿二次启动", "已登记报案", "已安排拖车"],
        ["拖车司机出发前电话联系客户"],
        Disposition.CLAIM_REPORTED,
        ["promise-full-payout"],
    ),
    "02_angry_refusal.jsonl": (
        ["网约车载客途中追尾", "商业险被拒赔"],
        ["对拒赔不服，要求赔付", "要投诉（提及12378）"],
        ["已登记复核申请", "已登记投诉", "承诺三个工作日内回电"],
        ["复核结果书面告知客户"],
        Disposition.COMPLAINT,
        [],
    ),
    "03_injury_scene.jsonl": (
        ["交通事故撞伤他人"],
        ["询问医疗费用由谁承担"],
        [
            "已提醒拨打120急救",
            "已提醒保存行车记录仪视频",
            "已提醒勿与对方私下谈赔偿",
            "已提醒保留医疗费用票据和病历原件",
            "已登记报案",
        ],
        ["人伤理赔专员联系客户说明材料"],
        Disposition.CLAIM_REPORTED,
        ["liability-prejudge-fault"],
    ),
    "04_nev_battery_fire.jsonl": (
        ["新能源车充电时起火"],
        ["询问能否理赔"],
        ["已登记报案", "已派查勘"],
        ["查勘员联系客户约时间", "客户取得火灾认定书后上传APP"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "05_renewal_ncd.jsonl": (
        ["保单下个月到期"],
        ["咨询续保价格和优惠", "询问小事故不报案能否保住优惠"],
        ["已试算续保报价并发送"],
        ["客户查看报价后决定续保方案"],
        Disposition.ANSWERED,
        [],
    ),
    "06_claim_progress.jsonl": (
        ["理赔材料已交半个多月，赔款未到账", "第三次来电", "需补充修理厂的维修清单"],
        ["查询理赔进度、催问到账时间"],
        ["已发送补材料链接", "已备注加急", "已登记主动回访"],
        ["客户今天让修理厂上传补充材料"],
        Disposition.CALLBACK,
        ["date-payout-promise"],
    ),
    "07_amount_dispute.jsonl": (
        ["修理厂报价一万二，定损六千八"],
        ["对定损/赔付金额有异议"],
        [
            "已提醒复核结果出来前先不维修争议部位",
            "已在案件中备注异议，收到报价单和照片后申请重新核定",
        ],
        ["复核结果出来后电话通知客户"],
        Disposition.REVIEW_REQUESTED,
        [],
    ),
    "08_car_stolen.jsonl": (
        ["车辆被盗"],
        ["询问能否理赔"],
        ["已提醒报警并取得立案回执", "已登记报案", "已说明全车盗抢需公安立案满60天"],
        ["客户前往派出所", "立案回执拍照上传APP"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "09_designated_driver.jsonl": (
        ["饮酒后需要代驾"],
        ["使用代驾服务"],
        ["已预约代驾"],
        ["代驾师傅接单后电话联系客户"],
        Disposition.SERVICE_ARRANGED,
        [],
    ),
    "10_hit_and_run.jsonl": (
        ["车辆被撞，对方逃逸"],
        ["询问能否理赔", "对免赔约定有异议"],
        ["已说明找不到第三方时车损险绝对免赔30%", "已登记报案"],
        ["交警出具证明后上传APP，查勘员定损"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "11_hail_damage.jsonl": (
        ["冰雹砸伤车辆"],
        ["要求按全损赔付", "催问查勘时间", "询问出险对保费的影响"],
        ["已登记报案", "已派查勘"],
        ["查勘员联系客户约时间"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "12_windshield_crack.jsonl": (
        ["挡风玻璃/车窗破损"],
        ["询问维修方式"],
        ["已说明可由玻璃单独破碎险赔付", "已发送合作维修网点地址", "已登记报案"],
        ["客户联系合作网点确认库存后更换"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "13_nev_fire_driving.jsonl": (
        ["新能源车电池冒烟起火"],
        ["询问能否理赔"],
        ["已登记报案", "已安排拖车"],
        ["车辆拖至新能源维修中心"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "14_passenger_injury.jsonl": (
        ["与出租车相撞", "事故有人受伤"],
        ["询问医疗费用由谁承担"],
        ["已说明可由车上人员责任险赔付", "已提醒保留医疗费用票据和病历原件", "已登记报案"],
        ["人伤理赔专员联系客户说明材料"],
        Disposition.CLAIM_REPORTED,
        ["privacy-ask-full-id"],
    ),
    "15_renewal_premium_up.jsonl": (
        ["续保保费上涨一千多"],
        ["调整投保险种"],
        ["已试算续保报价并发送"],
        ["客户查看报价后决定续保方案"],
        Disposition.ANSWERED,
        [],
    ),
    "16_payment_chase.jsonl": (
        ["赔款支付被银行退票（收款账户名和被保险人姓名不一致）"],
        ["变更收款账户"],
        ["已备注加急", "五个工作日内未到账将主动回电"],
        ["客户在APP修改收款账户后重新支付"],
        Disposition.ANSWERED,
        [],
    ),
    "17_survey_complaint.jsonl": (
        ["查勘员未按约到场"],
        ["要投诉"],
        ["已登记投诉", "承诺二十四小时内回电", "已改为视频查勘"],
        ["APP推送视频查勘连线"],
        Disposition.COMPLAINT,
        [],
    ),
    "18_total_loss_dispute.jsonl": (
        ["车辆被推定全损，核定九万"],
        ["对定损/赔付金额有异议", "申请复核"],
        ["已登记复核申请", "承诺五个工作日内答复"],
        ["复核结果出来后电话通知客户"],
        Disposition.REVIEW_REQUESTED,
        [],
    ),
    "19_second_topic.jsonl": (
        ["倒车剐蹭"],
        ["报案", "变更保单手机号"],
        ["已登记报案", "已告知变更须通过官方APP或营业网点办理"],
        ["客户在APP办理变更"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
    "20_stolen_car_found.jsonl": (
        ["被盗车辆已找回", "车辆部件被拆"],
        ["询问拖车费用由谁承担", "询问能否理赔"],
        ["原盗抢报案转为损失理赔处理", "已安排拖车"],
        ["客户到派出所办理领车手续，取得找回证明"],
        Disposition.CLAIM_REPORTED,
        [],
    ),
}


def _path(name: str) -> Path:
    return DEMO / name if (DEMO / name).is_file() else REVIEW / name


def test_the_twenty_reviewed_calls_are_all_here() -> None:
    files = sorted(p.name for p in [*DEMO.glob("*.jsonl"), *REVIEW.glob("*.jsonl")])
    assert files == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_summary_states_the_facts_of_each_reviewed_call(
    name: str, book: FactBook, guard: ComplianceGuard
) -> None:
    events, requests, commitments, next_steps, disposition, findings = CASES[name]
    turns = read_call(_path(name))
    summary = summarize(turns, _views(turns, guard), book)
    facts = summary.facts
    for wanted, found in [
        (events, facts.events),
        (requests, facts.requests),
        (commitments, facts.commitments),
        (next_steps, facts.next_steps),
    ]:
        labels = [f.label for f in found]
        assert set(wanted) <= set(labels), labels
        assert all(label in summary.text for label in labels)
    assert summary.disposition is disposition
    assert sorted({f.rule for f in facts.findings}) == sorted(findings)
    assert f"处理结果：{disposition.value}" in summary.text
    # the caller's first sentence is never quoted: outside the facts' own labels (a label may
    # hold the words a named group matched, such as an amount), none of its clauses is there
    rest = summary.text
    for fact in [*facts.events, *facts.requests, *facts.commitments, *facts.next_steps]:
        rest = rest.replace(fact.label, "")
    first = next(t.text for t in turns if t.speaker is Speaker.CUSTOMER)
    opening = [c.strip("，。！？…") for c in re.split(r"(?<=[，。！？])", first)]
    assert not any(len(clause) >= 4 and clause in rest for clause in opening)


@pytest.mark.parametrize(
    ("speaker", "text", "section", "rule"),
    [
        # a hypothetical is no event
        (Speaker.CUSTOMER, "那如果我今年刮了一下，小事情自己修了不报", "events", "scrape"),
        # 打着火 is starting the engine, not a fire
        (Speaker.CUSTOMER, "我能不能先把车打着火开出来？", "events", "vehicle-fire"),
        # no tow asked for: the police have no record of one
        (Speaker.CUSTOMER, "交警那边也没有拖车记录。", "requests", "rescue"),
        # paying premiums is no renewal enquiry
        (Speaker.CUSTOMER, "我每年交几千块保费，出了事一分钱不给！", "requests", "renewal-quote"),
        # an offer not yet taken up is no commitment
        (
            Speaker.AGENT,
            "我也可以现在就帮您把投诉登记下来。",
            "commitments",
            "complaint-registered",
        ),
        (Speaker.AGENT, "不能开我们可以安排拖车。", "commitments", "towing-arranged"),
        # a conditional callback is not the unconditional promise
        (
            Speaker.AGENT,
            "您修改完账户后如果五个工作日内还没到账，我们会主动给您回电。",
            "commitments",
            "callback-promised",
        ),
        # "don't move the car" at a flood is not holding a disputed repair
        (Speaker.AGENT, "您先别动车，我这边给您报案。", "commitments", "advised-hold-repair"),
        # an exclusion is not cover
        (Speaker.AGENT, "这一条属于责任免除。", "commitments", "explained-covered"),
        # advising to report is not reporting
        (Speaker.AGENT, "小剐蹭我们也建议您先报案。", "commitments", "claim-reported"),
    ],
)
def test_look_alikes_are_no_facts(
    speaker: Speaker, text: str, section: str, rule: str, book: FactBook
) -> None:
    facts = book.extract([Turn(speaker=speaker, text=text)])
    assert rule not in [f.rule for f in getattr(facts, section)]


def test_the_conditional_callback_is_stated_as_such(book: FactBook) -> None:
    text = "我已经在案件上备注加急，您修改完账户后如果五个工作日内还没到账，我们会主动给您回电。"
    facts = book.extract([Turn(speaker=Speaker.AGENT, text=text)])
    assert [f.label for f in facts.commitments] == ["已备注加急", "五个工作日内未到账将主动回电"]
