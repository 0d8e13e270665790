"""Warm start: load what the first call would otherwise wait for, and say what is ready.

The console and the API call this when they start, so the first caller turn of the day is as fast
as any other; the API's readiness check (``GET /readyz``) reports the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError

if TYPE_CHECKING:
    from services.root import Services

logger = logging.getLogger("policydesk.readiness")

WARM_CALLER = "我的车昨晚在地库被水泡了，能赔吗？你们怎么还没人联系我"
WARM_AGENT = "您好，我先帮您查一下保单，请稍等。"


class Part(BaseModel):
    """One part that a first request would need."""

    name: str
    ready: bool
    seconds: float = Field(ge=0, description="how long loading it took")
    problem: str | None = Field(default=None, description="why it is not ready, in words")


class Readiness(BaseModel):
    """Whether everything a call or a chat needs is loaded."""

    ready: bool
    generation: int | None = Field(description="the published-content generation loaded")
    parts: list[Part]


def _part(name: str, load: Callable[[], object]) -> Part:
    started = time.perf_counter()
    try:
        load()
    except PolicyDeskError as exc:
        logger.warning("%s not ready: %s", name, exc)
        problem = str(exc)
    except Exception as exc:  # a broken artefact must not stop the server from starting
        logger.exception("%s failed to load", name)
        problem = f"{type(exc).__name__}: {exc}"
    else:
        return Part(name=name, ready=True, seconds=time.perf_counter() - started)
    return Part(name=name, ready=False, seconds=time.perf_counter() - started, problem=problem)


def database_now(services: Services) -> Part:
    """Whether the database answers now. Asked on every readiness probe, not only at start: a load
    balancer must stop sending requests to a worker whose database has gone (and send them again
    once it is back)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    started = time.perf_counter()
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        problem = f"the database does not answer ({type(exc).__name__})"
        return Part(
            name="database", ready=False, seconds=time.perf_counter() - started, problem=problem
        )
    return Part(name="database", ready=True, seconds=time.perf_counter() - started)


def warm_up(services: Services) -> Readiness:
    """Load the content, the encoder, the index, the emotion model and run one throwaway assist
    turn for each speaker (nothing stored, no LLM call). Never raises for a part that cannot
    load: it is reported."""
    generation: list[int] = []

    def content() -> None:
        generation.append(services.content().generation)

    def assist() -> None:
        session = services.assist_session(phrased=False)
        session.add(Turn(speaker=Speaker.CUSTOMER, text=WARM_CALLER))
        session.add(Turn(speaker=Speaker.AGENT, text=WARM_AGENT))
        _ = services.fact_book  # the wrap-up rules: a bad file is reported now, not at wrap-up

    parts = [
        _part("content", content),
        _part("encoder", services.embedder.warm_up),
        _part("index", services.retriever),
        _part("emotion", lambda: services.emotion),
        _part("assist", assist),
    ]
    return Readiness(
        ready=all(p.ready for p in parts),
        generation=generation[0] if generation else None,
        parts=parts,
    )
