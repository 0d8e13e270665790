"""The golden-set progress line of ``policydesk eval``."""

from __future__ import annotations

import io

from cli.studio import terminal_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_ends_it() -> None:
    terminal = _Terminal()
    show = terminal_progress(terminal)
    assert show is not None
    for done in (1, 2, 3):
        show(done, 3)
    assert terminal.getvalue() == (
        "\rgolden set: 1/3 questions\rgolden set: 2/3 questions\rgolden set: 3/3 questions\n"
    )


def test_no_progress_into_a_pipe_or_a_file() -> None:
    assert terminal_progress(io.StringIO()) is None
