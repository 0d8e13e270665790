"""Deterministic fictional demo customers (no real people; identifiers are invented).

ID numbers use the fictional area code 999 and phones the 19x range, so nothing collides with a
real person's identifiers.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from customers.models import CLAIM_STAGES, MemberTier

CHINA = timezone(timedelta(hours=8), "CST")
"""Demo times are China Standard Time, stored as UTC like every other time."""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌浩宇欣怡子涵梓轩"
CITIES = [("南京", "苏A"), ("苏州", "苏E"), ("杭州", "浙A"), ("合肥", "皖A"), ("上海", "沪B")]
FUEL_MODELS = ["大众朗逸", "丰田卡罗拉", "本田雅阁", "别克英朗", "日产轩逸", "吉利帝豪", "哈弗H6"]
NEV_MODELS = ["比亚迪秦PLUS", "特斯拉Model 3", "蔚来ES6", "小鹏P7", "理想L7", "埃安S"]
ADJUSTERS = ["查勘员 周斌", "查勘员 吴婷", "定损员 孙浩", "定损员 郑丽", "查勘员 钱磊"]
CLAIM_STORIES = [
    ("暴雨导致地库积水，车辆被淹", 18000),
    ("路口追尾前车，本车前部受损", 6500),
    ("停车场被不明车辆刮擦后离开", 2300),
    ("高速上被飞石击中前挡风玻璃", 1800),
    ("与电动自行车碰撞，骑车人轻伤", 9000),
    ("倒车撞到立柱，后保险杠破损", 1500),
    ("小区内被落下的树枝砸中车顶", 4200),
    ("夜间单方事故撞上护栏", 12000),
]
TIER_WEIGHTS = [
    (MemberTier.REGULAR, 50),
    (MemberTier.THREE_STAR, 25),
    (MemberTier.FOUR_STAR, 15),
    (MemberTier.FIVE_STAR, 10),
]
DISPOSITIONS = ["已解答", "已报案", "已转查勘", "已升级主管", "待回访"]
TODAY = date(2026, 11, 1)


def _id_number(rng: random.Random, birth: date, gender: str) -> str:
    body = f"999{rng.randint(100, 999)}{birth:%Y%m%d}{rng.randint(10, 99)}"
    body += str(rng.choice([1, 3, 5, 7, 9]) if gender == "M" else rng.choice([0, 2, 4, 6, 8]))
    return body + rng.choice("0123456789X")


def _plate(rng: random.Random, prefix: str, nev: bool, used: set[str]) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    while True:
        tail = "".join(rng.choice(letters) for _ in range(5))
        plate = f"{prefix}{'D' if nev else ''}{tail}"
        if plate not in used:
            used.add(plate)
            return plate


def generate(count: int = 240, seed: int = 20261122) -> dict[str, list[dict[str, Any]]]:
    """Records for every customer table; the same arguments always give the same records."""
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {
        "cust_customers": [],
        "cust_vehicles": [],
        "cust_policies": [],
        "cust_claims": [],
        "cust_interactions": [],
    }
    tiers = [t for t, w in TIER_WEIGHTS for _ in range(w)]
    used_plates: set[str] = set()
    for n in range(1, count + 1):
        cid = f"C{n:05d}"
        gender = rng.choice("MF")
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
        city, prefix = rng.choice(CITIES)
        tier = rng.choice(tiers)
        out["cust_customers"].append(
            {
                "id": cid,
                "name": name,
                "gender": gender,
                "phone": f"19{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                "id_number": _id_number(rng, birth, gender),
                "city": city,
                "tier": tier.value,
            }
        )
        for v in range(1 if rng.random() < 0.85 else 2):
            nev = rng.random() < 0.35
            plate = _plate(rng, prefix, nev, used_plates)
            out["cust_vehicles"].append(
                {
                    "plate": plate,
                    "customer_id": cid,
                    "model": rng.choice(NEV_MODELS if nev else FUEL_MODELS),
                    "energy": "新能源" if nev else "燃油",
                }
            )
            start = TODAY - timedelta(days=rng.randint(0, 360))
            policy_no = f"P{2026 if start.year == 2026 else 2025}{n:05d}{v}"
            value = rng.randint(8, 35) * 10000
            coverages = [
                {"name": "新能源汽车损失保险" if nev else "机动车损失保险", "limit": value},
                {"name": "第三者责任保险", "limit": rng.choice([1000000, 2000000, 3000000])},
                {"name": "车上人员责任保险（司机）", "limit": 10000 * rng.choice([1, 2, 5])},
            ]
            if rng.random() < 0.5:
                coverages.append({"name": "附加医保外医疗费用责任险", "limit": 20000})
            if nev and rng.random() < 0.6:
                coverages.append({"name": "附加自用充电桩损失保险", "limit": 5000})
            out["cust_policies"].append(
                {
                    "policy_no": policy_no,
                    "customer_id": cid,
                    "plate": plate,
                    "coverages": coverages,
                    "start": start,
                    "end": start + timedelta(days=364),
                    "premium": round(value * rng.uniform(0.025, 0.045), 2),
                }
            )
            if rng.random() < 0.45:
                story, base = rng.choice(CLAIM_STORIES)
                stage_index = rng.randint(0, len(CLAIM_STAGES) - 1)
                reported = datetime.combine(
                    start + timedelta(days=rng.randint(5, 300)), datetime.min.time(), CHINA
                ) + timedelta(hours=rng.randint(7, 22))
                timeline = []
                at = reported
                for stage in CLAIM_STAGES[: stage_index + 1]:
                    timeline.append({"stage": stage, "at": at.isoformat(), "note": ""})
                    at += timedelta(hours=rng.randint(4, 96))
                amount = round(base * rng.uniform(0.6, 1.4), -1) if stage_index >= 2 else None
                out["cust_claims"].append(
                    {
                        "claim_no": f"RC{reported:%Y%m%d}{n:05d}{v}",
                        "customer_id": cid,
                        "policy_no": policy_no,
                        "plate": plate,
                        "reported_at": reported,
                        "description": story,
                        "stage": CLAIM_STAGES[stage_index],
                        "amount": amount,
                        "adjuster": rng.choice(ADJUSTERS) if stage_index >= 1 else "",
                        "timeline": timeline,
                    }
                )
        for _ in range(rng.randint(0, 3)):
            out["cust_interactions"].append(
                {
                    "customer_id": cid,
                    "at": datetime.combine(TODAY, datetime.min.time(), CHINA)
                    - timedelta(days=rng.randint(1, 300), hours=rng.randint(0, 12)),
                    "channel": rng.choice(["电话", "在线客服", "APP"]),
                    "summary": rng.choice(
                        [
                            "咨询续保优惠",
                            "查询理赔进度",
                            "预约道路救援",
                            "咨询代驾权益",
                            "修改联系地址",
                        ]
                    ),
                    "disposition": rng.choice(DISPOSITIONS),
                    "agent": f"坐席{rng.randint(1001, 1099)}",
                }
            )
    return out
