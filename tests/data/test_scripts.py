"""The shipped soothing scripts (data/scripts/soothing.jsonl)."""

from __future__ import annotations

from core.models import Emotion
from core.settings import PROJECT_ROOT
from sentiment.scripts import ScriptLibrary


def test_shipped_scripts_cover_every_upset_emotion_and_never_promise() -> None:
    library = ScriptLibrary.load(PROJECT_ROOT / "data" / "scripts" / "soothing.jsonl")
    for emotion in (Emotion.ANGRY, Emotion.ANXIOUS, Emotion.DISSATISFIED):
        chosen = library.best(emotion, "general")
        assert chosen is not None and chosen.emotion == emotion.value
    for script in library.scripts:
        for forbidden in ("全赔", "保证", "一定赔", "百分百"):
            assert forbidden not in script.text, script.id
