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
from core.models import Hit
from customers.models import CustomerProfile
from prompts.guard import ComplianceGuard, ComplianceReport
from prompts.llm import LlmPhraser
from retrieval.conversation_search import ConversationSearch
from retrieval.topics import Facet, TopicState
from sentiment.classifier import EmotionClassifier
from sentiment.mood import CallMood, CallMoodTracker
from sentiment.scripts import ScriptLibrary


class AssistSession:
    """The state of one call (turns, mood); not shared between calls or browser sessions."""

    def __init__(
        self,
        conversation: ConversationSearch,
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
        self._conversation = conversation
        self.topic = TopicState()
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
        self.topic = caller_views[-1].topic if caller_views else TopicState()
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

    def _cards(self, text: str, vector: np.ndarray | None) -> tuple[list[Hit], list[Hit]]:
        cards = self._conversation.cards(self.topic, text, vector, as_of=self._as_of)
        return cards.answers(self._k_clauses), cards.cases(self._k_cases)

    def correct_topic(
        self, facet: Facet, name: str | None, refresh: bool = True
    ) -> AgentAssist | None:
        """The agent's one-click correction of what the call is about: the facet holds ``name``
        (None clears it) from now on, and the cards of the last caller turn follow at once.

        Args:
            facet: the facet corrected.
            name: its value, or None to clear it.
            refresh: False to only change the state (re-applying a stored correction).

        Returns:
            The refreshed view of the last caller turn (None before the caller said anything,
            or without ``refresh``).

        Raises:
            ValueError: a value the topic lexicon does not know for that facet.
        """
        if name is not None and self._conversation.lexicon.value(facet, name) is None:
            raise ValueError(f"{name!r} is not a value of the topic facet {facet.value!r}")
        self.topic = self.topic.correct(facet, name, turn=max(len(self.turns) - 1, 0))
        last = next(
            (
                i
                for i in range(len(self.history) - 1, -1, -1)
                if self.history[i].speaker is Speaker.CUSTOMER
            ),
            None,
        )
        if not refresh or last is None:
            return None
        hits, cases = self._cards(self.turns[self.history[last].turn].text, None)
        view = self.history[last].model_copy(
            update={"hits": hits, "cases": cases, "topic": self.topic}
        )
        self.history[last] = view
        return view

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
        self.topic = self._conversation.update(self.topic, turn.text, index)
        hits, cases = self._cards(turn.text, vector)
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
            topic=self.topic,
            suggestion=suggestion,
            actions=next_actions(need, self._mood, emotion.situation, self.profile),
        )
        self.history.append(assist)
        return assist
