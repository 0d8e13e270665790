"""Optional LLM phrasing through langchain: grounded, checked, guarded, with a template fallback.

The product is fully useful without an LLM. When an OpenAI-compatible endpoint is configured the
LLM may rephrase a grounded template reply or write a call summary, but only from the text it is
given; output that brings in numbers it was not given, runs too long or fails is dropped in favour
of the template, and everything it says passes the compliance guard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from core.errors import ConfigurationError
from core.files import read_yaml
from prompts.guard import ComplianceGuard

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
MAX_REPLY_CHARS = 300
MAX_SUMMARY_CHARS = 400


class PromptPair(BaseModel):
    """A system message and a user message template with ``{placeholders}``."""

    system: str = Field(min_length=1)
    user: str = Field(min_length=1)


class PromptFile(BaseModel):
    """``prompts/llm_prompts.yaml``."""

    reply: PromptPair
    summary: PromptPair


class Phrased(BaseModel):
    """What the LLM produced, or why the template stands."""

    text: str
    source: str = Field(description="llm or template")
    note: str = Field(default="", description="why the template was kept, when it was")
    rewritten: bool = Field(default=False, description="the guard replaced a sentence")


def ungrounded_numbers(output: str, sources: Sequence[str]) -> list[str]:
    """Numbers in the output that appear in none of the sources (amounts, dates, limits).

    Args:
        output: the LLM's text.
        sources: the passages, draft and question it was given.

    Returns:
        The offending numbers, in order of appearance (empty when grounded).
    """
    seen = {n for s in sources for n in _NUMBER.findall(s)}
    return [n for n in _NUMBER.findall(output) if n not in seen]


def build_chat_model(
    base_url: str | None, model: str, api_key: str | None, timeout: float
) -> BaseChatModel | None:
    """A langchain chat model for an OpenAI-compatible endpoint, or None when none is set.

    Raises:
        ConfigurationError: an endpoint is set but the model name is empty.
    """
    if not base_url:
        return None
    if not model.strip():
        raise ConfigurationError("POLICYDESK_LLM_BASE_URL is set but POLICYDESK_LLM_MODEL is empty")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=0,  # a caller is waiting: fall back to the template instead of retrying
        temperature=0.2,
    )


class LlmPhraser:
    """Rephrases grounded replies and writes summaries with a chat model, safely."""

    def __init__(self, model: BaseChatModel, guard: ComplianceGuard, prompts: PromptFile) -> None:
        self._model = model
        self._guard = guard
        self._prompts = prompts

    @classmethod
    def load(cls, model: BaseChatModel, guard: ComplianceGuard, path: Path) -> LlmPhraser:
        """Build from the prompt file.

        Raises:
            ConfigurationError: missing or invalid prompt file, naming it.
        """
        return cls(model, guard, read_yaml(path, PromptFile))

    def _ask(self, pair: PromptPair, values: dict[str, str]) -> str:
        from langchain_core.messages import HumanMessage, SystemMessage

        try:
            user = pair.user.format(**values)
        except (KeyError, IndexError) as exc:
            problem = f"LLM prompt template has an unknown placeholder: {exc}"
            raise ConfigurationError(problem) from exc
        reply = self._model.invoke([SystemMessage(pair.system), HumanMessage(user)])
        content = reply.content
        text = content if isinstance(content, str) else "".join(str(c) for c in content)
        return text.strip()

    def _checked(self, text: str, sources: Sequence[str], limit: int, fallback: str) -> Phrased:
        if not text:
            return Phrased(text=fallback, source="template", note="LLM returned nothing")
        if len(text) > limit:
            return Phrased(text=fallback, source="template", note="LLM answer too long")
        stray = ungrounded_numbers(text, sources)
        if stray:
            note = f"LLM used numbers not in the sources: {', '.join(stray)}"
            return Phrased(text=fallback, source="template", note=note)
        cleaned, report = self._guard.sanitize(text)
        return Phrased(text=cleaned, source="llm", rewritten=not report.compliant)

    def phrase_reply(self, question: str, draft: str, passages: Sequence[str]) -> Phrased:
        """The draft rephrased from the passages, or the draft itself when that is not safe.

        Args:
            question: what the caller said.
            draft: the grounded template reply (already guarded).
            passages: the retrieved text, with citations, that the reply may rest on.
        """
        numbered = "\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1)) or "（无）"
        try:
            text = self._ask(
                self._prompts.reply,
                {"question": question, "passages": numbered, "draft": draft},
            )
        except ConfigurationError:
            raise
        except Exception as exc:  # the endpoint is optional: any failure keeps the template
            log.warning("LLM reply failed, keeping the template: %s", type(exc).__name__)
            return Phrased(text=draft, source="template", note=f"LLM unavailable: {exc}")
        return self._checked(text, [question, draft, *passages], MAX_REPLY_CHARS, draft)

    def summarize(self, transcript: str, facts: str, fallback: str) -> Phrased:
        """A call summary from the transcript, or the template summary when that is not safe."""
        try:
            text = self._ask(self._prompts.summary, {"transcript": transcript, "facts": facts})
        except ConfigurationError:
            raise
        except Exception as exc:
            log.warning("LLM summary failed, keeping the template: %s", type(exc).__name__)
            return Phrased(text=fallback, source="template", note=f"LLM unavailable: {exc}")
        return self._checked(text, [transcript, facts], MAX_SUMMARY_CHARS, fallback)
