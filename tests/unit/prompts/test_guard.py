from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError
from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard

RULES = PROJECT_ROOT / "prompts" / "compliance_rules.yaml"


@pytest.fixture(scope="module")
def guard() -> ComplianceGuard:
    return ComplianceGuard.load(RULES)


def test_unless_is_scoped_to_its_sentence(guard: ComplianceGuard) -> None:
    report = guard.check("我们不能承诺全赔。不过您这个肯定全赔。")
    assert [f.sentence for f in report.findings] == ["不过您这个肯定全赔。"]


def test_sanitize_replaces_only_offending_sentences(guard: ComplianceGuard) -> None:
    cleaned, report = guard.sanitize("您好王先生。您放心，肯定全赔。查勘员会联系您。")
    assert not report.compliant
    assert cleaned.startswith("您好王先生。") and cleaned.endswith("查勘员会联系您。")
    assert "全赔" not in cleaned
    assert guard.check(cleaned).compliant


def test_bad_rule_files_are_named(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text(
        "rules:\n  - id: a\n    category: promise\n    severity: high\n"
        "    patterns: ['(']\n    reason: r\n    rewrite: w\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"rules\.yaml"):
        ComplianceGuard.load(broken)
    duplicate = tmp_path / "dup.yaml"
    rule = "  - id: a\n    category: promise\n    severity: high\n    patterns: ['x']\n"
    duplicate.write_text(
        "rules:\n" + (rule + "    reason: r\n    rewrite: w\n") * 2, encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match="duplicate"):
        ComplianceGuard.load(duplicate)
