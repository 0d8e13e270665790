"""A contact's turns as quality work reads them, from a call's live views or from the guard."""

from __future__ import annotations

from collections.abc import Sequence

from calls.models import Call
from conversation.models import Speaker
from prompts.guard import ComplianceGuard
from quality.models import ContactTurn


def turns_from_call(call: Call) -> list[ContactTurn]:
    """The call's final segments as contact turns, with what the live view read on each.

    A customer turn carries its emotion (upset, intensity; the call's mood when the view has
    no emotion) and whether an emotion alert fired on it; every turn carries the cards shown
    after it (the suggestion's citations, then the hits'); an agent or bot turn carries the
    compliance guard's findings on it. The text stays as stored (masked).

    Args:
        call: the call, live or ended.

    Returns:
        One turn per final segment, in ``seq`` order.
    """
    turns: list[ContactTurn] = []
    for segment in call.finals():
        view = segment.assist
        assert view is not None  # finals() keeps only segments the pipeline answered
        upset, intensity = False, 0.0
        if segment.speaker is Speaker.CUSTOMER:
            if view.emotion is not None:
                upset, intensity = view.emotion.upset, view.emotion.intensity
            else:
                upset, intensity = view.mood.upset, view.mood.intensity
        citations = [*(view.suggestion.citations if view.suggestion else []),
                     *(h.citation for h in view.hits)]  # fmt: skip
        findings = (
            view.compliance.findings
            if view.compliance is not None and segment.speaker is not Speaker.CUSTOMER
            else []
        )
        turns.append(
            ContactTurn(
                speaker=segment.speaker,
                text=segment.text,
                at=segment.received_at,
                upset=upset,
                intensity=min(max(intensity, 0.0), 1.0),
                alert=view.alert is not None,
                citations=list(dict.fromkeys(c for c in citations if c)),
                findings=[f.rule for f in findings],
                finding_spans=[f.text for f in findings],
            )
        )
    return turns


def guarded_turns(turns: Sequence[ContactTurn], guard: ComplianceGuard) -> list[ContactTurn]:
    """The turns with the guard's findings filled in on every agent and bot turn.

    For contacts with no live views (a self-service chat): the findings recorded on those turns
    are replaced by the guard's check of their text; customer turns are left as they are.

    Args:
        turns: the contact's turns.
        guard: the compliance guard.

    Returns:
        New turns (the given ones are not changed).
    """
    checked: list[ContactTurn] = []
    for turn in turns:
        if turn.speaker is Speaker.CUSTOMER:
            checked.append(turn)
            continue
        findings = guard.check(turn.text).findings
        checked.append(
            turn.model_copy(
                update={
                    "findings": [f.rule for f in findings],
                    "finding_spans": [f.text for f in findings],
                }
            )
        )
    return checked
