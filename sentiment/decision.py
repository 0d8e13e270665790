"""The decision rule from the head's probabilities and cue matches to a reading (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from core.models import CueKind, CueMatch, Emotion
from sentiment.cues import cue_boost

UPSET_SCALE = 0.8  # the model alone tops out below 1; cues supply the rest
# share of the polarity stage in the upset decision: chosen on XS_30k folds (polarity fitted
# without the fold) and our dev split, weights 0.25 / 0.4 / 0.5 / 0.6 / 0.7 / 0.8 giving F1 on
# the folds 0.77 / 0.85 / 0.91 / 0.93 / 0.93 / 0.94 and on dev 0.91 / 0.91 / 0.91 / 0.91 / 0.90 /
# 0.89: the head alone reads chit-chat badly (0.67 on the folds), the polarity stage alone our
# insurance utterances less well (0.87 on dev) than the blend.
GENERAL_WEIGHT = 0.6


def decide(
    probabilities: dict[Emotion, float],
    matches: Sequence[CueMatch],
    general_negative: float | None = None,
) -> tuple[Emotion, bool, float]:
    """Label, upset flag and intensity from the head's probabilities and the cue matches (pure).

    - Upset first: the upset mass is angry + anxious + dissatisfied, blended with the polarity
      stage's probability of negative when given (``GENERAL_WEIGHT``: the polarity stage learnt
      from tens of thousands of conversations and from our utterances keeps the decision sound on
      wording our insurance examples never showed); the caller is upset when it is at least one
      half, and the label is the likeliest emotion within that side.
    - Profanity turns a calm reading into angry, an escalation cue into dissatisfied.
    - Angry, anxious and dissatisfied callers are upset: all three need calming.
    - Intensity is the head's probability mass of the upset emotions (scaled) plus the cue
      weights: how strong the emotion is, which the head reads; the polarity stage only helps
      decide the side. (Scaled by the blend, its confident log-odds made calm one-line questions
      to the chatbot "high intensity" and handed them to a person.) A calm reading uses the
      lower of the two masses, so it never shows as strong because the head alone leaned upset.
    """
    head_mass = sum(p for e, p in probabilities.items() if e.is_negative)
    upset_mass = head_mass
    if general_negative is not None:
        upset_mass = (1 - GENERAL_WEIGHT) * head_mass + GENERAL_WEIGHT * general_negative
    side = [e for e in probabilities if e.is_negative == (upset_mass >= 0.5)]
    label = max(side, key=lambda e: probabilities[e])
    kinds = {m.kind for m in matches}
    if not label.is_negative:
        if CueKind.PROFANITY in kinds:
            label = Emotion.ANGRY
        elif CueKind.ESCALATION in kinds:
            label = Emotion.DISSATISFIED
    strength = head_mass if upset_mass >= 0.5 else min(head_mass, upset_mass)
    intensity = UPSET_SCALE * strength + cue_boost(matches)
    if label.is_negative:
        intensity = max(intensity, 0.3)  # an upset reading is never shown as barely there
    return label, label.is_negative, round(min(1.0, intensity), 3)
