"""The console's Streamlit settings (`.streamlit/config.toml`) are the ones its runs use."""

from __future__ import annotations

from streamlit import config


def test_pages_run_without_magic_so_no_page_script_is_parsed_into_ast_objects() -> None:
    # magic parses every page script with ast.parse; on Python 3.11.7 two threads doing that at
    # once fail at random (CPython gh-106905), which failed a page test in CI
    assert config.get_option("runner.magicEnabled") is False


def test_streamlit_does_not_run_a_full_collection_after_every_rerun() -> None:
    assert config.get_option("runner.postScriptGC") is False
