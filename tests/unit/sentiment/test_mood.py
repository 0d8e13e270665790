from __future__ import annotations

from core.models import CueKind, CueMatch, Emotion, EmotionResult
from sentiment.mood import AlertReason, CallMoodTracker, Trend, trend_of
from sentiment.scripts import ScriptLibrary, SoothingScript


def turn(label: Emotion, intensity: float, escalation: bool = False) -> EmotionResult:
    matches = (
        [
            CueMatch(
                rule="regulator", kind=CueKind.ESCALATION, text="12378", start=0, end=5, weight=0.3
            )
        ]
        if escalation
        else []
    )
    return EmotionResult(
        text="…",
        label=label,
        upset=label.is_negative,
        intensity=intensity,
        matches=matches,
        situation="claim_refused",
    )


def test_one_high_intensity_angry_turn_alerts_with_a_filled_script() -> None:
    library = ScriptLibrary(
        [
            SoothingScript(
                id="a",
                emotion="angry",
                situation="claim_refused",
                title="拒赔",
                text="{客户称呼}，抱歉",
            )
        ]
    )
    tracker = CallMoodTracker(library, {"客户称呼": "李女士"})
    mood = tracker.update(turn(Emotion.ANGRY, 0.9))
    assert mood.alert is not None and mood.new_alert
    assert mood.alert.reasons == [AlertReason.HIGH_INTENSITY]
    assert mood.alert.script is not None and mood.alert.script.text == "李女士，抱歉"


def test_mild_single_upset_turn_does_not_alert_but_two_in_a_row_do() -> None:
    tracker = CallMoodTracker()
    first = tracker.update(turn(Emotion.DISSATISFIED, 0.4))
    assert first.alert is None and first.upset
    second = tracker.update(turn(Emotion.DISSATISFIED, 0.45))
    assert second.alert is not None
    assert second.alert.reasons == [AlertReason.CONSECUTIVE_UPSET]


def test_alert_is_not_repeated_every_turn_but_a_new_reason_raises_again() -> None:
    tracker = CallMoodTracker()
    tracker.update(turn(Emotion.ANGRY, 0.5))
    raised = tracker.update(turn(Emotion.ANGRY, 0.5))
    again = tracker.update(turn(Emotion.ANGRY, 0.5))
    assert raised.new_alert and not again.new_alert
    assert again.alert == raised.alert
    escalated = tracker.update(turn(Emotion.ANGRY, 0.6, escalation=True))
    assert escalated.new_alert
    assert AlertReason.ESCALATION_CUE in escalated.alert.reasons  # type: ignore[union-attr]


def test_escalation_cue_alone_alerts() -> None:
    mood = CallMoodTracker().update(turn(Emotion.DISSATISFIED, 0.5, escalation=True))
    assert mood.alert is not None and mood.alert.reasons[0] is AlertReason.ESCALATION_CUE


def test_calm_turn_clears_the_alert() -> None:
    tracker = CallMoodTracker()
    assert tracker.update(turn(Emotion.ANGRY, 0.95)).alert is not None
    calm = tracker.update(turn(Emotion.NEUTRAL, 0.05))
    assert calm.alert is None and calm.current is Emotion.NEUTRAL
    # after clearing, the same reason may alert again
    assert tracker.update(turn(Emotion.ANGRY, 0.95)).new_alert


def test_trend() -> None:
    assert trend_of([turn(Emotion.NEUTRAL, 0.1)]) is Trend.STEADY
    rising = [turn(Emotion.NEUTRAL, 0.1), turn(Emotion.DISSATISFIED, 0.4), turn(Emotion.ANGRY, 0.9)]
    assert trend_of(rising) is Trend.ESCALATING
    falling = [turn(Emotion.ANGRY, 0.9), turn(Emotion.ANGRY, 0.8), turn(Emotion.POSITIVE, 0.0)]
    assert trend_of(falling) is Trend.CALMING
    flat = [turn(Emotion.DISSATISFIED, 0.5), turn(Emotion.DISSATISFIED, 0.55)]
    assert trend_of(flat) is Trend.STEADY
