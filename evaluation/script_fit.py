"""Script fit: does the soothing script offered during a call suit what the call is about?

A call is replayed caller turn by caller turn through the shipped emotion classifier and the
call-mood tracker with the shipped scripts, exactly as the console does. Every alert that offers
a script is judged against the call's gold scenes (situations from the cue book, written by a
person who read the call):

- it *fits* when the script is for one of the call's scenes or is a general script;
- it is *on the scene* when the script is for one of the call's scenes (more specific help);
- otherwise it is *off the scene*: a refusal script for a caller whose claim was never refused.

The recorded demo calls carry their scenes in ``data/demo/calls/index.json``; a blind set of
calls (``data/eval/script_fit_blind.jsonl``, written from ``docs/emotion_labelling.md`` by a
separate author) carries them on each line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from assist.calls import demo_calls, read_call
from conversation.models import Speaker, Turn
from core.files import read_jsonl
from sentiment.cues import GENERAL_SITUATION
from sentiment.mood import CallMoodTracker
from services.root import Services


class ScriptFitCall(BaseModel):
    """One call of a script-fit set: its turns and the situations it is about.

    Raises (when built):
        pydantic.ValidationError: a call without a caller turn or a turn that does not validate.
    """

    id: str = Field(min_length=1)
    turns: list[Turn] = Field(min_length=1)
    scenes: list[str] = Field(
        default_factory=list, description="cue-book situations the call is about; [] for none"
    )
    author: str = ""


@dataclass(frozen=True)
class OfferedScript:
    """A script offered at one caller turn of a call."""

    call: str
    turn: int
    script: str
    situation: str
    scenes: tuple[str, ...]

    @property
    def fits(self) -> bool:
        """For one of the call's scenes, or general."""
        return self.situation == GENERAL_SITUATION or self.situation in self.scenes

    @property
    def on_scene(self) -> bool:
        """For one of the call's scenes."""
        return self.situation in self.scenes


@dataclass
class ScriptFit:
    """Script fit over a set of calls (pure figures from the offered scripts)."""

    calls: int
    offered: list[OfferedScript] = field(default_factory=list)

    @property
    def fit_rate(self) -> float:
        """Share of offered scripts that fit the call (1.0 when none was offered)."""
        return sum(o.fits for o in self.offered) / len(self.offered) if self.offered else 1.0

    @property
    def on_scene_rate(self) -> float:
        """Share of offered scripts, in calls with a scene, that are for that scene."""
        scened = [o for o in self.offered if o.scenes]
        return sum(o.on_scene for o in scened) / len(scened) if scened else 1.0

    @property
    def off_scene(self) -> list[OfferedScript]:
        """The scripts that do not fit their call."""
        return [o for o in self.offered if not o.fits]


def offered_scripts(services: Services, call: ScriptFitCall) -> list[OfferedScript]:
    """Replay a call's caller turns and list the scripts its alerts offer."""
    tracker = CallMoodTracker(services.scripts)
    said = [t.text for t in call.turns if t.speaker is Speaker.CUSTOMER]
    offered: list[OfferedScript] = []
    for number, result in enumerate(services.emotion.classify_many(said)):
        mood = tracker.update(result)
        if mood.new_alert and mood.alert is not None and mood.alert.script is not None:
            offered.append(
                OfferedScript(
                    call=call.id,
                    turn=number,
                    script=mood.alert.script.id,
                    situation=mood.alert.script.situation,
                    scenes=tuple(call.scenes),
                )
            )
    return offered


def measure_script_fit(services: Services, calls: Sequence[ScriptFitCall]) -> ScriptFit:
    """Script fit of the shipped classifier, tracker and scripts over calls."""
    fit = ScriptFit(calls=len(calls))
    for call in calls:
        fit.offered += offered_scripts(services, call)
    return fit


def demo_script_fit_calls(directory: Path) -> list[ScriptFitCall]:
    """The recorded demo calls with the scenes their index gives them.

    Raises:
        ConfigurationError: a bad index; PolicyDeskError: a bad call file.
    """
    return [
        ScriptFitCall(id=c.file, turns=read_call(directory / c.file), scenes=c.scenes)
        for c in demo_calls(directory)
    ]


def load_script_fit_calls(path: Path) -> list[ScriptFitCall]:
    """A script-fit set: one call per JSON line (``ScriptFitCall``).

    Raises:
        PolicyDeskError: unreadable file or a bad line, naming it.
    """
    return read_jsonl(path, ScriptFitCall)


def unknown_scenes(calls: Sequence[ScriptFitCall], situations: Sequence[str]) -> list[str]:
    """Gold scenes the cue book does not know (a typo in a set would make every script miss)."""
    known = set(situations)
    return sorted({s for c in calls for s in c.scenes if s not in known})


def script_fit_lines(name: str, role: str, fit: ScriptFit) -> list[str]:
    """A table row for one set."""
    return [
        f"| {name} | {role} | {fit.calls} | {len(fit.offered)} | {fit.fit_rate:.3f} | "
        f"{fit.on_scene_rate:.3f} | {len(fit.off_scene)} |"
    ]
