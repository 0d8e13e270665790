from __future__ import annotations

import pytest

from core.models import Emotion
from sentiment.mood import CallMood, IntensityLevel, MoodCourse
from ui import i18n
from ui.widgets import mood_words


@pytest.fixture(params=["zh", "en"])
def lang(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(i18n, "language", lambda: request.param)
    return str(request.param)


def test_label_intensity_and_course_read_together(lang: str) -> None:
    angry = CallMood(
        current=Emotion.ANGRY,
        intensity=0.9,
        upset=True,
        level=IntensityLevel.STRONG,
        course=MoodCourse.PERSISTING,
    )
    expected = {"zh": "愤怒（强烈） · 持续", "en": "angry (strong) · ongoing"}
    assert mood_words(angry) == expected[lang]


def test_a_calm_first_turn_is_only_its_label(lang: str) -> None:
    assert mood_words(CallMood()) == {"zh": "平稳", "en": "neutral"}[lang]


def test_every_level_and_course_has_words_in_both_languages() -> None:
    for key in [f"level_{v.value}" for v in IntensityLevel] + [
        f"course_{v.value}" for v in MoodCourse
    ]:
        assert set(i18n.STRINGS[key]) == {"zh", "en"}, key
    # the old trend words said 情绪平稳 beside 愤怒; nothing renders them any more
    assert not any(k.startswith("trend_") for k in i18n.STRINGS)
