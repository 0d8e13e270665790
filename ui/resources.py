"""Shared, cached services for every browser session (one model in memory)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.runtime import configure_runtime
from services.root import Services, build_services

_factory: Callable[[], Services] = build_services


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    """The process-wide service container, built once from the environment's settings."""
    configure_runtime()
    return _factory()


def use_services_for_tests(services: Services | None) -> None:
    """Test hook: make ``get_services`` return these services (for example, built on a temp data
    dir with a fake embedder) instead of building them from the environment; ``None`` restores
    the default. Clears the cache either way. Never called by the app itself.
    """
    global _factory
    _factory = build_services if services is None else (lambda: services)
    get_services.clear()
