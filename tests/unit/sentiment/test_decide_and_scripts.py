from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.errors import ConfigurationError
from core.models import CueKind, CueMatch, Emotion
from core.settings import PROJECT_ROOT
from sentiment.cues import CueBook
from sentiment.decision import decide
from sentiment.scripts import ScriptLibrary, SoothingScript, fill, unknown_scenes


def _probs(**values: float) -> dict[Emotion, float]:
    base = dict.fromkeys(Emotion, 0.0)
    base.update({Emotion(k): v for k, v in values.items()})
    return base


def _cue(kind: CueKind, weight: float = 0.3) -> CueMatch:
    return CueMatch(rule=kind.value, kind=kind, text="x", start=0, end=1, weight=weight)


def test_most_probable_label_and_upset() -> None:
    label, upset, intensity = decide(_probs(angry=0.7, neutral=0.3), [])
    assert (label, upset) == (Emotion.ANGRY, True)
    assert intensity == pytest.approx(0.56)


def test_neutral_is_not_upset_and_low() -> None:
    label, upset, intensity = decide(_probs(neutral=0.9, anxious=0.1), [])
    assert (label, upset) == (Emotion.NEUTRAL, False)
    assert intensity < 0.3


def test_profanity_and_escalation_override_a_calm_reading() -> None:
    assert decide(_probs(neutral=0.8), [_cue(CueKind.PROFANITY)])[0] is Emotion.ANGRY
    assert decide(_probs(neutral=0.8), [_cue(CueKind.ESCALATION)])[0] is Emotion.DISSATISFIED


def test_escalation_raises_intensity_and_caps_at_one() -> None:
    base = decide(_probs(angry=0.9, neutral=0.1), [])[2]
    raised = decide(_probs(angry=0.9, neutral=0.1), [_cue(CueKind.ESCALATION)])[2]
    assert raised > base
    many = [_cue(CueKind.ESCALATION), _cue(CueKind.PROFANITY)]
    many[1] = CueMatch(rule="p2", kind=CueKind.PROFANITY, text="y", start=1, end=2, weight=0.9)
    assert decide(_probs(angry=1.0), many)[2] == 1.0


def test_fill_uses_profile_then_fallbacks() -> None:
    script = SoothingScript(
        id="s", emotion="angry", title="t", text="{客户称呼}，关于{案件号}，我是{坐席工号}号"
    )
    profile = {"客户称呼": "王先生", "案件号": "RC-01", "坐席工号": "1024"}
    assert fill(script, profile).text == "王先生，关于RC-01，我是1024号"
    assert fill(script, {}).text.startswith("您，关于您的案件")


def test_a_script_refuses_an_unknown_emotion_a_blank_situation_or_blank_words() -> None:
    assert SoothingScript(id="s", emotion="any", title="t", text="您好").situation == "general"
    for fields, message in [
        ({"emotion": "furious"}, r"script emotion 'furious' is not one of: angry, .*, any"),
        ({"situation": " "}, "needs a scene"),
        ({"text": " "}, "words the agent says"),
    ]:
        with pytest.raises(ValidationError, match=message):
            SoothingScript.model_validate(
                {"id": "s", "emotion": "angry", "title": "t", "text": "您好"} | fields
            )


def test_best_script_preference_order() -> None:
    library = ScriptLibrary(
        [
            SoothingScript(id="any-g", emotion="any", title="t", text="a"),
            SoothingScript(id="ang-g", emotion="angry", title="t", text="b"),
            SoothingScript(id="any-w", emotion="any", situation="long_wait", title="t", text="c"),
            SoothingScript(
                id="ang-r", emotion="angry", situation="claim_refused", title="t", text="d"
            ),
        ]
    )
    assert library.best(Emotion.ANGRY, "claim_refused").id == "ang-r"  # type: ignore[union-attr]
    assert library.best(Emotion.ANGRY, "long_wait").id == "ang-g"  # type: ignore[union-attr]
    assert library.best(Emotion.ANXIOUS, "long_wait").id == "any-w"  # type: ignore[union-attr]
    assert library.best(Emotion.ANXIOUS, "theft").id == "any-g"  # type: ignore[union-attr]


def test_upset_is_decided_on_the_summed_mass() -> None:
    # neutral is the single likeliest label, but most of the mass says upset
    label, upset, _ = decide(_probs(neutral=0.4, angry=0.3, dissatisfied=0.3), [])
    assert upset and label in (Emotion.ANGRY, Emotion.DISSATISFIED)


def test_the_polarity_stage_shares_the_upset_decision() -> None:
    borderline = _probs(neutral=0.52, dissatisfied=0.48)
    assert not decide(borderline, [])[1]
    assert decide(borderline, [], general_negative=0.95)[1]
    assert not decide(borderline, [], general_negative=0.05)[1]
    # the head sure of an upset caller outvotes a polarity stage that only leans calm
    assert decide(_probs(angry=0.9, neutral=0.1), [], general_negative=0.3)[1]
    # a polarity stage sure of calm outvotes a head that only leans upset
    assert not decide(_probs(angry=0.6, neutral=0.4), [], general_negative=0.05)[1]


def test_intensity_is_the_heads_strength_not_the_polarity_stages_confidence() -> None:
    leaning = _probs(dissatisfied=0.45, neutral=0.55)
    label, upset, intensity = decide(leaning, [], general_negative=0.99)
    assert label is Emotion.DISSATISFIED
    assert upset and intensity == pytest.approx(0.36)  # 0.8 x 0.45, not 0.8 x the blend
    # a calm reading is never strong because the head alone leaned upset
    _, upset, intensity = decide(_probs(angry=0.8, neutral=0.2), [], general_negative=0.01)
    assert not upset and intensity < 0.3


def test_a_script_for_a_situation_the_cue_book_does_not_know_is_refused() -> None:
    typo = SoothingScript(
        id="s-typo", emotion="angry", situation="claim_refuse", title="拒赔", text="您好"
    )
    fine = SoothingScript(id="s-ok", emotion="any", situation="general", title="通用", text="您好")
    with pytest.raises(ConfigurationError, match=r"s-typo: 'claim_refuse'.*claim_refused"):
        ScriptLibrary([fine, typo], situations=["claim_refused", "flood"])
    assert unknown_scenes([fine, typo], ["claim_refused"]) == [("s-typo", "claim_refuse")]
    assert ScriptLibrary([fine], situations=["flood"]).scripts == [fine]


def test_the_shipped_scripts_are_for_situations_the_shipped_cue_book_knows() -> None:
    cues = CueBook.load(PROJECT_ROOT / "data" / "sentiment" / "cues.yaml")
    shipped = PROJECT_ROOT / "data" / "scripts" / "soothing.jsonl"
    library = ScriptLibrary.load(shipped, cues.situations)
    assert {s.situation for s in library.scripts} <= {*cues.situations, "general"}
