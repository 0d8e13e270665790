"""Shared, cached services for every browser session (one model in memory)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import streamlit as st

from core.runtime import configure_runtime
from services.readiness import Readiness
from services.root import Services, build_services

_factory: Callable[[], Services] = build_services


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    """The process-wide service container, built once from the environment's settings."""
    configure_runtime()
    return _factory()


class _WarmUp:
    """The process's warm-up, run once in the background from the first page view."""

    def __init__(self, services: Services) -> None:
        self.readiness: Readiness | None = None
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(services,), name="warm-up", daemon=True).start()

    def _run(self, services: Services) -> None:
        try:
            self.readiness = services.warm_up()
        finally:
            self.done.set()


@st.cache_resource(show_spinner=False)
def _warm_up() -> _WarmUp:
    return _WarmUp(get_services())


def start_warm_up() -> None:
    """Start loading the models and the index in the background (every page calls this; the
    first call of the process starts it), so that by the time an agent has logged in and a call
    arrives, nothing waits for a model."""
    _warm_up()


def warm_up() -> Readiness | None:
    """Wait for the warm-up (the console shows a spinner meanwhile) and return what it found."""
    warming = _warm_up()
    warming.done.wait()
    return warming.readiness


def use_services_for_tests(services: Services | None) -> None:
    """Test hook: make ``get_services`` return these services (for example, built on a temp data
    dir with a fake embedder) instead of building them from the environment; ``None`` restores
    the default. Clears the cache either way. Never called by the app itself.
    """
    global _factory
    _factory = build_services if services is None else (lambda: services)
    get_services.clear()
    _warm_up.clear()
