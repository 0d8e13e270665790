"""Call-level mood: current emotion, trend and alerts over the caller's turns (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from core.models import Emotion, EmotionResult
from sentiment.cues import GENERAL_SITUATION
from sentiment.scripts import FilledScript, ScriptLibrary, fill

HIGH_INTENSITY = 0.75
TREND_DELTA = 0.15
CALM_INTENSITY = 0.3
STRONG_INTENSITY = HIGH_INTENSITY  # shown as strong from where a high-intensity alert fires
MILD_BELOW = 0.5


class Trend(StrEnum):
    """How the caller's mood is moving."""

    ESCALATING = "escalating"
    STEADY = "steady"
    CALMING = "calming"


class IntensityLevel(StrEnum):
    """How strong an upset reading is, in a word (the console shows it beside the label)."""

    MILD = "mild"
    MODERATE = "moderate"
    STRONG = "strong"


class MoodCourse(StrEnum):
    """Where the caller's mood is heading, in words that agree with the current label.

    The raw ``Trend`` compares signed pressures, so an angry caller a little less angry than the
    turn before reads "steady"; shown as 情绪平稳 beside 愤怒 it told a person the caller was calm.
    A course is chosen with the label: an upset caller's mood is ``rising``, ``persisting`` or
    ``easing``; a caller who is not upset has ``settled`` (upset within the last turns) or is
    ``calm``. It never says calm of an upset caller, nor rising of a calm one.
    """

    RISING = "rising"
    PERSISTING = "persisting"
    EASING = "easing"
    SETTLED = "settled"
    CALM = "calm"


class AlertReason(StrEnum):
    """Why the console flags the call."""

    ESCALATION_CUE = "escalation_cue"
    HIGH_INTENSITY = "high_intensity"
    CONSECUTIVE_UPSET = "consecutive_upset"


REASON_TEXT: dict[AlertReason, str] = {
    AlertReason.ESCALATION_CUE: "客户提到投诉、监管、媒体、起诉或找领导等升级信号",
    AlertReason.HIGH_INTENSITY: "客户情绪强烈（高强度愤怒或焦虑）",
    AlertReason.CONSECUTIVE_UPSET: "客户连续两轮情绪不佳",
}


class MoodAlert(BaseModel):
    """An alert raised at one turn, with the script that best fits it."""

    reasons: list[AlertReason]
    message: str
    turn: int = Field(ge=0, description="index of the caller turn that raised it")
    emotion: Emotion
    situation: str
    script: FilledScript | None = None


class CallMood(BaseModel):
    """The mood after the latest caller turn."""

    current: Emotion = Emotion.NEUTRAL
    intensity: float = 0.0
    upset: bool = False
    trend: Trend = Trend.STEADY
    level: IntensityLevel | None = Field(
        default=None, description="how strong an upset reading is; none when not upset"
    )
    course: MoodCourse | None = Field(
        default=None, description="where the mood is heading; none on the call's first turn"
    )
    situation: str = Field(
        default=GENERAL_SITUATION, description="what the call is about so far (call_situation)"
    )
    alert: MoodAlert | None = Field(default=None, description="the active alert, if any")
    new_alert: bool = Field(default=False, description="the alert was raised on this turn")
    turns: int = 0


def _pressure(result: EmotionResult) -> float:
    """Signed mood pressure of one turn: upset intensity, or a small negative when content."""
    if result.upset:
        return result.intensity
    return -0.2 if result.label is Emotion.POSITIVE else 0.0


def trend_of(results: Sequence[EmotionResult]) -> Trend:
    """Compare the latest turn with the average of the two before it (pure)."""
    if len(results) < 2:
        return Trend.STEADY
    latest = _pressure(results[-1])
    before = [_pressure(r) for r in results[-3:-1]]
    delta = latest - sum(before) / len(before)
    if delta > TREND_DELTA:
        return Trend.ESCALATING
    if delta < -TREND_DELTA:
        return Trend.CALMING
    return Trend.STEADY


def intensity_level(upset: bool, intensity: float) -> IntensityLevel | None:
    """The word for an upset reading's intensity; none for a caller who is not upset (pure)."""
    if not upset:
        return None
    if intensity >= STRONG_INTENSITY:
        return IntensityLevel.STRONG
    if intensity >= MILD_BELOW:
        return IntensityLevel.MODERATE
    return IntensityLevel.MILD


def course_of(results: Sequence[EmotionResult]) -> MoodCourse | None:
    """Where the mood is heading after the latest turn, never contradicting its label (pure).

    Args:
        results: the caller's turns so far, in order.

    Returns:
        None on the first turn (nothing to compare with). An upset caller: ``rising`` when the
        trend escalates, ``easing`` when it calms, else ``persisting``. A caller who is not upset:
        ``settled`` when one of the two turns before was upset, else ``calm``.
    """
    if len(results) < 2:
        return None
    latest = results[-1]
    if latest.upset:
        trend = trend_of(results)
        if trend is Trend.ESCALATING:
            return MoodCourse.RISING
        if trend is Trend.CALMING:
            return MoodCourse.EASING
        return MoodCourse.PERSISTING
    if any(r.upset for r in results[-3:-1]):
        return MoodCourse.SETTLED
    return MoodCourse.CALM


def call_situation(results: Sequence[EmotionResult]) -> str:
    """What the call is about after the latest turn: the latest turn's situation when its words
    name one, else the most recent one named earlier in the call, else ``general`` (pure).

    A caller says "凭什么不赔" once and then gives the plate number: the call is still about a
    refusal. A call where no turn named one stays ``general``, so no scene-specific script (a
    refusal script to a caller whose claim was never refused) is offered.
    """
    for result in reversed(results):
        if result.situation != GENERAL_SITUATION:
            return result.situation
    return GENERAL_SITUATION


def triggers(results: Sequence[EmotionResult]) -> list[AlertReason]:
    """The alert reasons the latest turn fires (pure)."""
    latest = results[-1]
    reasons: list[AlertReason] = []
    if latest.escalation:
        reasons.append(AlertReason.ESCALATION_CUE)
    if latest.label in (Emotion.ANGRY, Emotion.ANXIOUS) and latest.intensity >= HIGH_INTENSITY:
        reasons.append(AlertReason.HIGH_INTENSITY)
    if len(results) >= 2 and latest.upset and results[-2].upset:
        reasons.append(AlertReason.CONSECUTIVE_UPSET)
    return reasons


def is_calm(result: EmotionResult) -> bool:
    """A turn that clears an alert: not upset and no escalation cue."""
    return not result.upset and not result.escalation and result.intensity < CALM_INTENSITY


class CallMoodTracker:
    """Feeds caller turns in order; keeps one active alert, raised once, cleared on calm.

    A new alert is raised when a turn fires a reason the active alert does not already carry
    (so an escalation after plain anger is flagged, but the same anger is not repeated every
    turn). A calm turn clears the active alert.
    """

    def __init__(
        self, scripts: ScriptLibrary | None = None, profile: Mapping[str, str] | None = None
    ) -> None:
        self._scripts = scripts
        self._profile = dict(profile or {})
        self._results: list[EmotionResult] = []
        self._alert: MoodAlert | None = None

    @property
    def results(self) -> list[EmotionResult]:
        """The caller turns seen so far."""
        return list(self._results)

    def restore(self, results: Sequence[EmotionResult], alert: MoodAlert | None) -> None:
        """Continue from a call's earlier caller turns and its active alert (a call another
        process started: the tracker's whole state is these two)."""
        self._results = list(results)
        self._alert = alert

    def update(self, result: EmotionResult) -> CallMood:
        """Add the latest caller turn and return the call's mood."""
        self._results.append(result)
        turn = len(self._results) - 1
        reasons = triggers(self._results)
        new_alert = False
        if is_calm(result):
            self._alert = None
        elif reasons:
            known = set(self._alert.reasons) if self._alert else set()
            if not set(reasons) <= known:
                self._alert = self._make_alert(result, reasons, turn)
                new_alert = True
        return CallMood(
            current=result.label,
            intensity=result.intensity,
            upset=result.upset,
            trend=trend_of(self._results),
            level=intensity_level(result.upset, result.intensity),
            course=course_of(self._results),
            situation=call_situation(self._results),
            alert=self._alert,
            new_alert=new_alert,
            turns=len(self._results),
        )

    def _make_alert(
        self, result: EmotionResult, reasons: list[AlertReason], turn: int
    ) -> MoodAlert:
        emotion = result.label if result.upset else Emotion.DISSATISFIED
        situation = call_situation(self._results)
        script = None
        if self._scripts is not None:
            chosen = self._scripts.best(emotion, situation)
            script = fill(chosen, self._profile) if chosen else None
        return MoodAlert(
            reasons=reasons,
            message="；".join(REASON_TEXT[r] for r in reasons),
            turn=turn,
            emotion=emotion,
            situation=situation,
            script=script,
        )
