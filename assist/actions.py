"""Next-best actions for the agent (pure rules over need, mood and profile)."""

from __future__ import annotations

from assist.models import Need, NextAction
from customers.models import CustomerProfile
from sentiment.mood import CallMood


def next_actions(
    need: Need, mood: CallMood, situation: str, profile: CustomerProfile | None
) -> list[NextAction]:
    """The actions that fit this moment of the call, most urgent first."""
    actions: list[NextAction] = []
    privileges = profile.privileges if profile else []
    open_claims = [c for c in profile.claims if c.stage != "支付"] if profile else []
    if situation == "injury_scene":
        actions.append(
            NextAction(
                code="safety", label="提醒拨打120/110并做好现场防护", reason="通话中提到人员受伤"
            )
        )
    if mood.alert is not None or need.intent == "complaint":
        actions.append(
            NextAction(
                code="escalate",
                label="升级主管",
                reason=mood.alert.message if mood.alert else "客户提出投诉",
            )
        )
    if need.intent == "report_claim":
        actions.append(NextAction(code="report", label="发起报案", reason="客户描述了出险经过"))
        actions.append(NextAction(code="survey", label="预约查勘", reason="报案后需安排查勘定损"))
        actions.append(
            NextAction(
                code="materials", label="推送索赔材料清单", reason="提前告知所需材料，减少往返"
            )
        )
    if need.intent in ("claim_progress", "amount_dispute", "refusal_dispute") and profile:
        open_claims = open_claims or sorted(profile.claims, key=lambda c: c.reported_at)[-1:]
    if need.intent in ("claim_progress", "amount_dispute", "refusal_dispute") and open_claims:
        claim = open_claims[0]
        actions.append(
            NextAction(
                code="progress",
                label=f"查理赔进度（{claim.claim_no}）",
                reason=f"案件目前处于{claim.stage}环节",
            )
        )
    if need.intent == "amount_dispute":
        actions.append(
            NextAction(code="review", label="申请定损复核", reason="客户对定损金额有异议")
        )
    if need.intent == "refusal_dispute":
        actions.append(
            NextAction(
                code="review", label="申请理赔复核", reason="客户对拒赔结论有异议，可补充材料复核"
            )
        )
    if need.intent == "value_added" or situation in ("flood", "nev_fire"):
        rescue = [p for p in privileges if "救援" in p]
        driver = [p for p in privileges if "代驾" in p]
        if any("代驾" in m for m in need.matched):
            if driver:
                actions.append(NextAction(code="driver", label="安排代驾", reason=driver[0]))
            else:
                actions.append(
                    NextAction(
                        code="driver-paid",
                        label="告知代驾为付费服务",
                        reason="该会员等级不含免费代驾",
                    )
                )
        else:
            actions.append(
                NextAction(
                    code="rescue",
                    label="安排道路救援",
                    reason=rescue[0] if rescue else "可安排付费救援",
                )
            )
    if need.intent == "clause_query":
        actions.append(
            NextAction(
                code="materials",
                label="推送索赔材料清单",
                reason="咨询赔付问题的客户通常随后需要材料清单",
            )
        )
    unique: dict[str, NextAction] = {}
    for action in actions:
        unique.setdefault(action.code, action)
    return list(unique.values())
