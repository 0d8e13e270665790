"""What every router shares: the services with the chatbot built once per content generation,
the dependency that hands it to an endpoint, and the error declarations for OpenAPI."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ChatbotNotReadyError
from api.schemas import ErrorResponse
from chatbot.service import ChatbotService
from core.errors import PolicyDeskError
from services.readiness import Part, Readiness
from services.root import Services

logger = logging.getLogger("policydesk.api")


def errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    """The OpenAPI ``responses`` of an operation that may fail with these statuses."""
    return {status: {"model": ErrorResponse} for status in statuses}


class ApiContext:
    """What the endpoints share: the services, and the chatbot built once per content generation.

    The chatbot is rebuilt when the published-content generation moved (an ingest, a publish or
    a kept retraining, from this process or any other), so it never queries a dropped collection
    or serves a stale guard.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._chatbot: ChatbotService | None = None
        self._built_on: int | None = None  # the generation the chatbot was built from
        self._lock = threading.Lock()
        self.readiness: Readiness | None = None  # set when the warm-up at start finishes

    @property
    def ready(self) -> bool:
        return self._chatbot is not None

    def warm_up(self) -> Readiness:
        """Load the call assist and the chatbot now (the server's start), and keep the verdict
        for the readiness check."""
        readiness = self.services.warm_up()
        try:
            self.chatbot()
        except ChatbotNotReadyError as exc:
            chatbot = Part(name="chatbot", ready=False, seconds=0.0, problem=str(exc.__cause__))
        else:
            chatbot = Part(name="chatbot", ready=True, seconds=0.0)
        parts = [*readiness.parts, chatbot]
        self.readiness = readiness.model_copy(
            update={"parts": parts, "ready": all(p.ready for p in parts)}
        )
        return self.readiness

    def chatbot(self) -> ChatbotService:
        """The shared chatbot over the current content; retried on the next request if not ready.

        Raises:
            ChatbotNotReadyError: no index, no trained model, or invalid configuration.
        """
        try:
            generation = self.services.content().generation  # one primary-key read
            if self._chatbot is not None and generation == self._built_on:
                return self._chatbot
            with self._lock:
                if self._chatbot is None or generation != self._built_on:
                    bot = self.services.chatbot()
                    self.services.embedder.warm_up()
                    self._chatbot, self._built_on = bot, generation
                return self._chatbot
        except PolicyDeskError as exc:
            logger.warning("chatbot not ready: %s", exc)
            raise ChatbotNotReadyError(exc) from exc


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.policydesk
    return context


Context = Annotated[ApiContext, Depends(get_context)]
