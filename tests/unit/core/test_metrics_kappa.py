"""Cohen's kappa."""

from __future__ import annotations

import pytest

from core.metrics import cohen_kappa


def test_perfect_agreement_is_one() -> None:
    assert cohen_kappa(["pass", "fail", "na"], ["pass", "fail", "na"]) == 1.0


def test_chance_level_agreement_is_zero() -> None:
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == pytest.approx(0.0)


def test_a_worked_example() -> None:
    # observed 0.7; expected 0.5*0.6 + 0.5*0.4 = 0.5 -> (0.7-0.5)/0.5
    gold = ["y"] * 5 + ["n"] * 5
    auto = ["y", "y", "y", "y", "n", "y", "y", "n", "n", "n"]
    assert cohen_kappa(gold, auto) == pytest.approx(0.4)


def test_undefined_cases_are_none() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["na", "na"], ["na", "na"]) is None
