from __future__ import annotations

from core.models import CueKind, CueMatch, Emotion, EmotionResult
from sentiment.mood import (
    AlertReason,
    CallMoodTracker,
    IntensityLevel,
    MoodCourse,
    Trend,
    call_situation,
    course_of,
    intensity_level,
    trend_of,
)
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


def said(label: Emotion, intensity: float, situation: str = "general") -> EmotionResult:
    return EmotionResult(
        text="…", label=label, upset=label.is_negative, intensity=intensity, situation=situation
    )


def test_the_course_never_contradicts_the_label() -> None:
    angry, calm = said(Emotion.ANGRY, 0.8), said(Emotion.NEUTRAL, 0.1)
    assert course_of([angry]) is None  # nothing to compare on the first turn
    assert course_of([angry, said(Emotion.ANGRY, 0.78)]) is MoodCourse.PERSISTING
    assert course_of([said(Emotion.DISSATISFIED, 0.4), angry]) is MoodCourse.RISING
    assert course_of([angry, said(Emotion.ANXIOUS, 0.35)]) is MoodCourse.EASING
    assert course_of([angry, calm]) is MoodCourse.SETTLED
    assert course_of([calm, calm]) is MoodCourse.CALM
    # from content to neutral the raw trend escalates; a calm caller is still not "rising"
    assert trend_of([said(Emotion.POSITIVE, 0.0), calm]) is Trend.ESCALATING
    assert course_of([said(Emotion.POSITIVE, 0.0), calm]) is MoodCourse.CALM
    # an angry caller whose pressure barely moved: the old "steady" read as calm
    steady_anger = [angry, said(Emotion.ANGRY, 0.8)]
    assert trend_of(steady_anger) is Trend.STEADY
    assert course_of(steady_anger) not in (MoodCourse.CALM, MoodCourse.SETTLED)


def test_intensity_is_a_word_only_for_an_upset_caller() -> None:
    assert intensity_level(False, 0.9) is None
    assert intensity_level(True, 0.3) is IntensityLevel.MILD
    assert intensity_level(True, 0.6) is IntensityLevel.MODERATE
    assert intensity_level(True, 0.75) is IntensityLevel.STRONG


def test_the_mood_carries_level_course_and_the_calls_situation() -> None:
    tracker = CallMoodTracker()
    first = tracker.update(said(Emotion.ANGRY, 0.9, "claim_refused"))
    assert (first.level, first.course, first.situation) == (
        IntensityLevel.STRONG,
        None,
        "claim_refused",
    )
    second = tracker.update(said(Emotion.ANGRY, 0.85))  # the plate number: names no situation
    assert second.course is MoodCourse.PERSISTING and second.situation == "claim_refused"


def test_the_call_situation_is_the_latest_one_named() -> None:
    assert call_situation([]) == "general"
    assert call_situation([said(Emotion.NEUTRAL, 0.0)]) == "general"
    turns = [said(Emotion.ANXIOUS, 0.6, "flood"), said(Emotion.ANXIOUS, 0.6)]
    assert call_situation(turns) == "flood"
    assert call_situation([*turns, said(Emotion.ANGRY, 0.8, "long_wait")]) == "long_wait"


def _library() -> ScriptLibrary:
    return ScriptLibrary(
        [
            SoothingScript(
                id="refusal",
                emotion="angry",
                situation="claim_refused",
                title="拒赔",
                text="辛辛苦苦报了案却等来这样的结果",
            ),
            SoothingScript(
                id="angry-general", emotion="angry", situation="general", title="通用", text="抱歉"
            ),
        ]
    )


def test_a_refusal_script_only_for_a_call_with_a_refusal() -> None:
    not_refused = CallMoodTracker(_library())
    not_refused.update(said(Emotion.ANGRY, 0.5))
    mood = not_refused.update(said(Emotion.ANGRY, 0.9))
    assert mood.alert is not None and mood.alert.script is not None
    assert mood.alert.script.id == "angry-general" and mood.alert.situation == "general"

    refused = CallMoodTracker(_library())
    refused.update(said(Emotion.ANGRY, 0.5, "claim_refused"))
    mood = refused.update(said(Emotion.ANGRY, 0.9))  # this turn names no situation
    assert mood.alert is not None and mood.alert.script is not None
    assert mood.alert.script.id == "refusal" and mood.alert.situation == "claim_refused"
