"""Split long passages into overlapping chunks that keep their passage id (and so its article)."""

from __future__ import annotations

import re

from core.models import Chunk, Passage

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


def split_sentences(text: str) -> list[str]:
    """Split Chinese text after sentence-ending punctuation and newlines, keeping punctuation."""
    return [piece for piece in _SENTENCE_END.split(text) if piece.strip()]


def chunk_passage(passage: Passage, size: int, overlap: int) -> list[Chunk]:
    """Cut a passage into chunks of at most ~``size`` characters of body text.

    Every chunk starts with the passage heading (document and title), so a chunk read alone
    still says which article it belongs to. Consecutive chunks share up to ``overlap``
    characters of whole sentences; a single sentence longer than ``size`` is cut hard.

    Args:
        passage: the passage to cut.
        size: target body characters per chunk.
        overlap: characters of trailing sentences repeated at the start of the next chunk.

    Returns:
        One or more chunks, ``seq`` from 0, ids ``{passage.id}#{seq}``.
    """
    header = passage.heading().strip()
    body = passage.text.strip()
    pieces: list[str] = []
    for sentence in split_sentences(body):
        while len(sentence) > size:
            pieces.append(sentence[:size])
            sentence = sentence[size - overlap :] if overlap < size else sentence[size:]
        pieces.append(sentence)
    windows: list[str] = []
    current: list[str] = []
    length = 0
    fresh = 0  # pieces in ``current`` not already emitted as another window's overlap
    for piece in pieces:
        if current and length + len(piece) > size:
            if not fresh:  # only carried-over overlap: drop it rather than repeat it alone
                current, length = [], 0
            else:
                windows.append("".join(current))
                kept: list[str] = []
                kept_len = 0
                for previous in reversed(current):
                    if kept_len + len(previous) > overlap:
                        break
                    kept.insert(0, previous)
                    kept_len += len(previous)
                current, length = kept, kept_len
            fresh = 0
        current.append(piece)
        length += len(piece)
        fresh += 1
    if current and fresh:
        windows.append("".join(current))
    if not windows:
        windows = [body]
    if len(windows) > 1:
        # One more vector for the passage as a whole (the encoder truncates it to its window):
        # windows catch a detail, the whole catches what the article is about.
        windows.append(body)
    return [
        Chunk(
            id=f"{passage.id}#{seq}",
            passage_id=passage.id,
            seq=seq,
            text=f"{header}\n{window.strip()}" if header else window.strip(),
        )
        for seq, window in enumerate(windows)
    ]
