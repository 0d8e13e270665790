"""The rules file and the feeds are validated at the boundary: a bad value is a typed error
naming the field (and, for a feed, the record)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from outreach.feeds import FeedError, read_violations, read_weather
from outreach.rules import OutreachRulesError, load_rules

RULES_FILE = Path(__file__).resolve().parents[3] / "data" / "outreach" / "rules.yaml"
FEEDS = Path(__file__).resolve().parents[3] / "data" / "demo" / "feeds"


def _rules(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        target = raw
        for part in parents:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_rules_load() -> None:
    rules = load_rules(RULES_FILE)
    assert rules.renewal.offsets == [30, 15, 7]
    assert rules.weekly_cap == 3
    assert rules.quiet_hours.contains(__import__("datetime").time(22, 0))
    assert "地下车库" in rules.weather.kinds["rainstorm"].advice


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"weekly_cap": 0}, "weekly_cap"),
        ({"renewal.offsets": [30, 30]}, "renewal.offsets"),
        ({"renewal.template": "{客户姓名}您好"}, "renewal.template"),
        ({"weather.min_level": "紫"}, "weather.min_level"),
        ({"default_channel": "email"}, "default_channel"),
        ({"quiet_hours.start": "25:00"}, "quiet_hours.start"),
        ({"claim_docs": None}, "claim_docs"),
        ({"renewal.surprise": 1}, "renewal.surprise"),
    ],
)
def test_a_bad_rules_file_names_the_field(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    with pytest.raises(OutreachRulesError, match=named.replace(".", r"\.")):
        load_rules(_rules(tmp_path, change))


def test_a_missing_or_broken_rules_file(tmp_path: Path) -> None:
    with pytest.raises(OutreachRulesError, match="cannot read"):
        load_rules(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("a: [", encoding="utf-8")
    with pytest.raises(OutreachRulesError, match="not valid YAML"):
        load_rules(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(OutreachRulesError, match="mapping"):
        load_rules(tmp_path / "list.yaml")


def test_the_demo_feeds_are_valid() -> None:
    weather = read_weather(str(FEEDS / "weather.json"))
    violations = read_violations(str(FEEDS / "violations.jsonl"))
    assert {w.city for w in weather} <= {"南京", "苏州", "杭州", "合肥", "上海"}
    assert len(violations) == 16


def _record(**change: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "W1",
        "city": "杭州",
        "kind": "rainstorm",
        "level": "黄",
        "starts": "2026-11-04T16:00:00+08:00",
        "ends": "2026-11-06T08:00:00+08:00",
    }
    return base | change


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"level": "紫"}, "level"),
        ({"ends": "2026-11-01T00:00:00+08:00"}, "ends"),
        ({"starts": "tomorrow"}, "starts"),
        ({"id": "W 1; drop"}, "id"),
    ],
)
def test_an_invalid_weather_record_names_record_and_field(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    path = tmp_path / "weather.jsonl"
    lines = [json.dumps(_record()), json.dumps(_record(**change))]
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FeedError, match=rf"record 2: .*{named}"):
        read_weather(str(path))


def test_unreadable_and_non_json_feeds(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read"):
        read_weather(str(tmp_path / "missing.json"))
    (tmp_path / "bad.jsonl").write_text('{"id": "V1"\n', encoding="utf-8")
    with pytest.raises(FeedError, match="line 1: invalid JSON"):
        read_violations(str(tmp_path / "bad.jsonl"))
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    assert read_weather(str(tmp_path / "empty.json")) == []
