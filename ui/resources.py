"""Shared, cached services for every browser session (one model in memory)."""

from __future__ import annotations

import os

import streamlit as st

from core.services import Services, build_services


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    """The process-wide service container, built once from the environment's settings."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return build_services()
