"""Native thread pools (OpenMP, BLAS) held to one thread around a call.

A small model's prediction or fit is over before a pool's threads have spun up; inside a server
that already runs many requests at once, each pool's threads then compete for the same cores and
wait on one another. One thread gives the same numbers: the work is split across threads by rows,
never inside a row's sum.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    # built once: finding the loaded native libraries walks the process's shared objects
    return ThreadpoolController()


@contextmanager
def single_threaded(user_api: Literal["openmp", "blas"] | None = None) -> Iterator[None]:
    """Run the block with the native thread pools (only ``user_api``'s when given) at one thread.

    OpenMP's limit holds for the calling thread only, so concurrent requests are not affected;
    a BLAS limit is process-wide while the block runs.
    """
    with _controller().limit(limits=1, user_api=user_api):
        yield
