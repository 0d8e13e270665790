"""One call's assist session: each turn in, an AgentAssist out.

A caller turn is embedded once; the vector serves the emotion classifier and retrieval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from assist.actions import next_actions
from assist.intents import IntentBook
from assist.models import AgentAssist, Need, Suggestion
from assist.replies import suggest
from conversation.models import Speaker, Turn
from core.models import Hit, PassageKind, SearchFilters, SearchRequest, SearchResult
from customers.models import CustomerProfile
from prompts.guard import ComplianceGuard, ComplianceReport
from prompts.llm import LlmPhraser
from sentiment.classifier import EmotionClassifier
from sentiment.mood import CallMood, CallMoodTracker
from sentiment.scripts import ScriptLibrary

MIN_QUERY_CHARS = 6  # a shorter caller turn ("好的") searches with the turn before it
ANSWER_KINDS = [PassageKind.CLAUSE, PassageKind.FAQ]


class AssistSession:
    """The state of one call (turns, mood); not shared between calls or browser sessions."""

    def __init__(
        self,
        search: Callable[[SearchRequest, np.ndarray | None], SearchResult],
        embed: Callable[[str], np.ndarray],
        emotion: EmotionClassifier,
        intents: IntentBook,
        guard: ComplianceGuard,
        scripts: ScriptLibrary,
        profile: CustomerProfile | None = None,
        k_clauses: int = 3,
        k_cases: int = 2,
        phraser: LlmPhraser | None = None,
    ) -> None:
        self._search = search
        self._embed = embed
        self._emotion = emotion
        self._intents = intents
        self._guard = guard
        self._phraser = phraser
        self.profile = profile
        # clause editions follow the customer's policy (effective and expiry dates)
        self._as_of = profile.clause_date(date.today()) if profile else None
        self._tracker = CallMoodTracker(scripts, profile.placeholders() if profile else {})
        self._k_clauses = k_clauses
        self._k_cases = k_cases
        self.turns: list[Turn] = []
        self.history: list[AgentAssist] = []
        self._mood = CallMood()

    def resume(self, turns: Sequence[Turn], history: Sequence[AgentAssist]) -> None:
        """Continue a call from its turns and the views after each (stored by another process):
        the mood, the active alert and the context of the next turn carry on as if this session
        had seen them.

        Raises:
            ValueError: turns and views of different lengths.
        """
        if len(turns) != len(history):
            raise ValueError(f"{len(turns)} turns but {len(history)} views")
        self.turns = list(turns)
        self.history = list(history)
        caller_views = [v for v in history if v.speaker is Speaker.CUSTOMER]
        results = [v.emotion for v in caller_views if v.emotion is not None]
        self._mood = caller_views[-1].mood if caller_views else CallMood()
        self._tracker.restore(results, self._mood.alert)

    def caller_texts(self) -> list[str]:
        """What the caller has said so far."""
        return [t.text for t in self.turns if t.speaker is Speaker.CUSTOMER]

    def check_draft(self, text: str) -> ComplianceReport:
        """The guard's check of what the agent is about to say."""
        return self._guard.check(text)

    def _phrase(self, question: str, draft: Suggestion, hits: list[Hit]) -> Suggestion:
        assert self._phraser is not None
        passages = [f"{h.citation}：{h.text}" for h in hits[:2]]
        phrased = self._phraser.phrase_reply(question, draft.text, passages)
        return draft.model_copy(
            update={
                "text": phrased.text,
                "source": phrased.source,
                "note": phrased.note,
                "rewritten": draft.rewritten or phrased.rewritten,
            }
        )

    def add(self, turn: Turn) -> AgentAssist:
        """Process one turn and return the console's view after it."""
        self.turns.append(turn)
        index = len(self.turns) - 1
        if turn.speaker is not Speaker.CUSTOMER:
            # the company's turn (the agent's, or the bot's before a handoff): the caller-side
            # view stays as it was; only the guard's check of this turn is new
            update = {
                "turn": index,
                "speaker": turn.speaker,
                "emotion": None,
                "alert": None,
                "compliance": self._guard.check(turn.text),
            }
            assist = (
                self.history[-1].model_copy(update=update)
                if self.history
                else AgentAssist(mood=self._mood, intent=Need(), **update)
            )
            self.history.append(assist)
            return assist

        callers = self.caller_texts()
        vector = self._embed(turn.text)
        emotion = self._emotion.classify(turn.text, vector=vector)
        self._mood = self._tracker.update(emotion)
        need = self._intents.assess(callers)
        query: str = turn.text
        query_vector = vector
        if len(turn.text.strip()) < MIN_QUERY_CHARS and len(callers) > 1:
            query = "，".join(callers[-2:])
            query_vector = self._embed(query)  # once, for both searches
        hits = self._search(
            SearchRequest(
                query=query,
                k=self._k_clauses,
                filters=SearchFilters(kinds=ANSWER_KINDS, as_of=self._as_of),
            ),
            query_vector,
        ).hits
        cases = self._search(
            SearchRequest(
                query=query, k=self._k_cases, filters=SearchFilters(kinds=[PassageKind.CASE])
            ),
            query_vector,
        ).hits
        spec = self._intents.spec(need.intent)
        suggestion: Suggestion | None = None
        if spec is not None:
            suggestion = suggest(
                spec.reply,
                self.profile.placeholders() if self.profile else {},
                hits,
                self.profile.privileges if self.profile else [],
                self._guard,
            )
        if suggestion is not None and self._phraser is not None:
            suggestion = self._phrase(turn.text, suggestion, hits)
        assist = AgentAssist(
            turn=index,
            speaker=turn.speaker,
            mood=self._mood,
            emotion=emotion,
            alert=self._mood.alert if self._mood.new_alert else None,
            intent=need,
            hits=hits,
            cases=cases,
            suggestion=suggestion,
            actions=next_actions(need, self._mood, emotion.situation, self.profile),
        )
        self.history.append(assist)
        return assist
