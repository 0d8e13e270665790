"""Dynamic micro-batching: concurrent callers in one process share the encoder's forward passes.

The API answers each customer message on its own thread, and each message embeds one short
text. One encoder thread collects what the callers submit within a short wait, hands it to the
wrapped encoder as one call (which still groups texts of the same token count, so a text's
vector keeps its bits whatever it is batched with) and gives each caller its rows back.

The queue in front of the encoder is bounded: when it is full a caller gets ``OverloadedError``
at once (the API answers 503 with ``Retry-After``) instead of waiting behind work it cannot
overtake.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from core.errors import OverloadedError
from core.telemetry import Telemetry
from retrieval.embedder import Embedder

Kind = Literal["query", "passage"]
QUEUE_NAME = "encoder"


@dataclass
class _Job:
    kind: Kind
    texts: list[str]
    future: Future[np.ndarray] = field(default_factory=Future)


class BatchingEmbedder:
    """An ``Embedder`` whose concurrent calls share forward passes of ``inner``.

    The encoder thread starts on the first call. ``close()`` answers what is queued, then stops
    the thread; calls after it go straight to ``inner``, unbatched.

    Args:
        inner: the encoder that runs the passes (thread-safe, as every ``Embedder``).
        max_wait: seconds the encoder thread waits, after the first request of a batch, for
            more to join it.
        max_batch: a batch is closed once it holds this many texts (one large request, say an
            ingest batch, still goes whole).
        max_queue: at most this many requests wait; one more gets ``OverloadedError``.
        retry_after: the seconds an overloaded caller is told to wait.
        telemetry: where the queue depth, batch sizes and refusals are recorded.

    Raises:
        ValueError: a bound below its minimum (names the value).
    """

    def __init__(
        self,
        inner: Embedder,
        max_wait: float = 0.003,
        max_batch: int = 32,
        max_queue: int = 64,
        retry_after: int = 1,
        telemetry: Telemetry | None = None,
    ) -> None:
        if max_wait < 0:
            raise ValueError(f"max_wait must be >= 0 seconds, got {max_wait}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        if retry_after < 1:
            raise ValueError(f"retry_after must be >= 1 second, got {retry_after}")
        self._inner = inner
        self._max_wait = max_wait
        self._max_batch = max_batch
        self._retry_after = retry_after
        self._telemetry = telemetry
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._depth_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    # ----- the Embedder protocol --------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    def warm_up(self) -> None:
        """Load the wrapped model now."""
        self._inner.warm_up()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries, in a pass shared with concurrent callers.

        Raises:
            OverloadedError: the queue is full (nothing was embedded).
        """
        return self._submit("query", texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages, in a pass shared with concurrent callers.

        Raises:
            OverloadedError: the queue is full (nothing was embedded).
        """
        return self._submit("passage", texts)

    # ----- lifecycle --------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken into a batch."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        """Whether the encoder thread is alive (from the first call until ``close()``)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def close(self, timeout: float = 30.0) -> None:
        """Answer what is queued, then stop the encoder thread (idempotent)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)  # after every queued job: the thread drains them first
            thread.join(timeout)

    # ----- the callers' side ------------------------------------------------------------------

    def _submit(self, kind: Kind, texts: Sequence[str]) -> np.ndarray:
        items = list(texts)
        with self._lock:
            if self._closed:
                return self._run(kind, items)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="encoder-batcher", daemon=True
                )
                self._thread.start()
            job = _Job(kind, items)
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                if self._telemetry is not None:
                    self._telemetry.overloaded(QUEUE_NAME)
                raise OverloadedError("text encoder", self._retry_after) from None
        self._depth()
        return job.future.result()

    def _run(self, kind: Kind, texts: list[str]) -> np.ndarray:
        if kind == "query":
            return self._inner.embed_queries(texts)
        return self._inner.embed_passages(texts)

    # ----- the encoder thread -----------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._collect(first)
            self._depth()
            self._encode(batch)
            if stop:
                return

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        """``first`` and what arrives within ``max_wait`` after it, up to ``max_batch`` texts;
        True when the stop sign came in meanwhile (after every job queued before it)."""
        batch = [first]
        size = len(first.texts)
        deadline = time.monotonic() + self._max_wait
        while size < self._max_batch:
            try:
                # what is queued already joins at once; then wait out the rest of the window
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
            size += len(job.texts)
        return batch, False

    def _encode(self, batch: list[_Job]) -> None:
        if self._telemetry is not None:
            self._telemetry.encoder_batch(len(batch))
        for kind in ("query", "passage"):
            jobs = [j for j in batch if j.kind == kind]
            if not jobs:
                continue
            try:
                vectors = self._run(kind, [t for j in jobs for t in j.texts])
            except BaseException as exc:  # every caller of this pass gets the error
                for job in jobs:
                    job.future.set_exception(exc)
                continue
            start = 0
            for job in jobs:
                job.future.set_result(vectors[start : start + len(job.texts)])
                start += len(job.texts)

    def _depth(self) -> None:
        if self._telemetry is not None:
            with self._depth_lock:  # read and set together: the last update wins, never stale
                self._telemetry.encoder_queue_depth(self._queue.qsize())
