from __future__ import annotations

import pytest
from pydantic import ValidationError

from evaluation.script_fit import OfferedScript, ScriptFit, ScriptFitCall, unknown_scenes


def offered(situation: str, scenes: tuple[str, ...]) -> OfferedScript:
    return OfferedScript(call="c", turn=0, script="s", situation=situation, scenes=scenes)


def test_a_script_fits_its_scene_or_when_general() -> None:
    refusal_in_refusal = offered("claim_refused", ("claim_refused",))
    general = offered("general", ("amount_dispute",))
    refusal_elsewhere = offered("claim_refused", ("amount_dispute",))
    assert refusal_in_refusal.fits and refusal_in_refusal.on_scene
    assert general.fits and not general.on_scene
    assert not refusal_elsewhere.fits
    fit = ScriptFit(calls=2, offered=[refusal_in_refusal, general, refusal_elsewhere])
    assert fit.fit_rate == pytest.approx(2 / 3)
    assert fit.on_scene_rate == pytest.approx(1 / 3)
    assert fit.off_scene == [refusal_elsewhere]


def test_calls_without_a_scene_count_for_fit_only() -> None:
    fit = ScriptFit(calls=1, offered=[offered("general", ())])
    assert fit.fit_rate == 1.0 and fit.on_scene_rate == 1.0
    assert ScriptFit(calls=0).fit_rate == 1.0


def test_a_call_needs_turns_and_unknown_scenes_are_named() -> None:
    with pytest.raises(ValidationError):
        ScriptFitCall(id="x", turns=[])
    call = ScriptFitCall.model_validate(
        {"id": "x", "turns": [{"speaker": "customer", "text": "凭什么不赔"}], "scenes": ["refusal"]}
    )
    assert unknown_scenes([call], ["claim_refused"]) == ["refusal"]
