"""Call-level mood: current emotion, trend and alerts over the caller's turns (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from core.models import Emotion, EmotionResult
from sentiment.scripts import FilledScript, ScriptLibrary, fill

HIGH_INTENSITY = 0.75
TREND_DELTA = 0.15
CALM_INTENSITY = 0.3


class Trend(StrEnum):
    """How the caller's mood is moving."""

    ESCALATING = "escalating"
    STEADY = "steady"
    CALMING = "calming"


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
            alert=self._alert,
            new_alert=new_alert,
            turns=len(self._results),
        )

    def _make_alert(
        self, result: EmotionResult, reasons: list[AlertReason], turn: int
    ) -> MoodAlert:
        emotion = result.label if result.upset else Emotion.DISSATISFIED
        script = None
        if self._scripts is not None:
            chosen = self._scripts.best(emotion, result.situation)
            script = fill(chosen, self._profile) if chosen else None
        return MoodAlert(
            reasons=reasons,
            message="；".join(REASON_TEXT[r] for r in reasons),
            turn=turn,
            emotion=emotion,
            situation=result.situation,
            script=script,
        )
