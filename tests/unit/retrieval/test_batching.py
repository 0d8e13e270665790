"""The micro-batching encoder: concurrent callers share passes, each gets its own rows, errors
reach every caller of the failed pass, a full queue refuses at once, and close() drains."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from core.errors import OverloadedError
from core.telemetry import Telemetry
from retrieval.batching import BatchingEmbedder
from tests.fakes import FakeEmbedder, GatedEmbedder, metric_value

BLOCKER = "先占住编码器"


@pytest.fixture
def gated() -> GatedEmbedder:
    return GatedEmbedder(FakeEmbedder())


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor


def _batcher(gated: GatedEmbedder, telemetry: Telemetry, **bounds: int) -> BatchingEmbedder:
    # a generous window: the callers are lined up before the gate opens anyway
    return BatchingEmbedder(gated, max_wait=0.05, telemetry=telemetry, **bounds)


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


def _hold(
    batcher: BatchingEmbedder, gated: GatedEmbedder, pool: ThreadPoolExecutor
) -> Future[np.ndarray]:
    """Keep the encoder busy with one pass, held at the gate."""
    gated.gate.clear()
    busy = pool.submit(batcher.embed_queries, [BLOCKER])
    assert gated.entered.wait(5)
    return busy


def _line_up(
    batcher: BatchingEmbedder,
    gated: GatedEmbedder,
    pool: ThreadPoolExecutor,
    requests: list[list[str]],
) -> tuple[Future[np.ndarray], list[Future[np.ndarray]]]:
    """One pass held in the encoder, and ``requests`` (queries) queued behind it."""
    busy = _hold(batcher, gated, pool)
    futures = [pool.submit(batcher.embed_queries, texts) for texts in requests]
    _until(lambda: batcher.waiting == len(requests))
    return busy, futures


def test_concurrent_callers_share_one_pass_and_each_gets_its_own_rows(
    gated: GatedEmbedder, telemetry: Telemetry, pool: ThreadPoolExecutor
) -> None:
    batcher = _batcher(gated, telemetry)
    requests = [["车损险赔什么"], ["玻璃单独破碎", "划痕险"], ["水淹", "盗抢", "自燃"]]
    busy, futures = _line_up(batcher, gated, pool, requests)
    gated.gate.set()

    reference = FakeEmbedder()
    for texts, future in zip(requests, futures, strict=True):
        assert np.array_equal(future.result(timeout=5), reference.embed_queries(texts))
    assert np.array_equal(busy.result(timeout=5), reference.embed_queries([BLOCKER]))
    # the held pass, then one pass for all three callers
    assert [kind for kind, _ in gated.calls] == ["query", "query"]
    assert sorted(gated.calls[1][1]) == sorted(t for texts in requests for t in texts)
    exposition = telemetry.exposition()[0]
    assert metric_value(exposition, "policydesk_encoder_batch_requests_count") == 2
    assert metric_value(exposition, "policydesk_encoder_batch_requests_sum") == 1 + 3
    batcher.close()


def test_queries_and_passages_in_one_batch_take_their_own_passes(
    gated: GatedEmbedder, telemetry: Telemetry, pool: ThreadPoolExecutor
) -> None:
    batcher = _batcher(gated, telemetry)
    busy = _hold(batcher, gated, pool)
    query = pool.submit(batcher.embed_queries, ["三者险保额"])
    passage = pool.submit(batcher.embed_passages, ["第三者责任保险的责任限额"])
    _until(lambda: batcher.waiting == 2)
    gated.gate.set()

    busy.result(timeout=5)
    assert query.result(timeout=5).shape == (1, 64)
    assert passage.result(timeout=5).shape == (1, 64)
    assert sorted(gated.calls[1:]) == [
        ("passage", ["第三者责任保险的责任限额"]),
        ("query", ["三者险保额"]),
    ]
    batcher.close()


def test_a_batch_is_closed_at_max_batch_texts(
    gated: GatedEmbedder, telemetry: Telemetry, pool: ThreadPoolExecutor
) -> None:
    batcher = _batcher(gated, telemetry, max_batch=2)
    busy, futures = _line_up(batcher, gated, pool, [[f"问题{i}"] for i in range(4)])
    gated.gate.set()

    for future in futures:
        future.result(timeout=5)
    busy.result(timeout=5)
    assert [len(texts) for _, texts in gated.calls] == [1, 2, 2]
    batcher.close()


def test_an_error_reaches_every_caller_of_the_failed_pass_and_the_encoder_goes_on(
    gated: GatedEmbedder, telemetry: Telemetry, pool: ThreadPoolExecutor
) -> None:
    batcher = _batcher(gated, telemetry)
    busy, futures = _line_up(batcher, gated, pool, [[f"问题{i}"] for i in range(3)])
    gated.error = RuntimeError("simulated encoder failure")
    gated.gate.set()

    for future in [busy, *futures]:
        with pytest.raises(RuntimeError, match="simulated encoder failure"):
            future.result(timeout=5)
    gated.error = None
    assert batcher.embed_queries(["之后的问题"]).shape == (1, 64)
    batcher.close()


def test_a_full_queue_refuses_at_once_with_retry_after(
    gated: GatedEmbedder, telemetry: Telemetry, pool: ThreadPoolExecutor
) -> None:
    batcher = BatchingEmbedder(
        gated, max_wait=0.05, max_queue=2, retry_after=3, telemetry=telemetry
    )
    busy, queued = _line_up(batcher, gated, pool, [[f"排队{i}"] for i in range(2)])

    started = time.monotonic()
    with pytest.raises(OverloadedError) as refused:
        batcher.embed_queries(["第三个"])
    assert time.monotonic() - started < 1.0  # refused, not queued
    assert refused.value.retry_after == 3
    exposition = telemetry.exposition()[0]
    assert metric_value(exposition, "policydesk_overload_rejections_total", queue="encoder") == 1
    assert metric_value(exposition, "policydesk_encoder_queue_depth") == 2

    gated.gate.set()
    for future in [busy, *queued]:
        future.result(timeout=5)
    assert all("第三个" not in texts for _, texts in gated.calls)  # never embedded
    assert batcher.embed_queries(["之后"]).shape == (1, 64)  # room again
    assert metric_value(telemetry.exposition()[0], "policydesk_encoder_queue_depth") == 0
    batcher.close()


def test_close_answers_what_is_queued_then_stops_the_thread(
    gated: GatedEmbedder, telemetry: Telemetry, pool: ThreadPoolExecutor
) -> None:
    batcher = _batcher(gated, telemetry)
    busy, queued = _line_up(batcher, gated, pool, [[f"排队{i}"] for i in range(3)])
    assert batcher.running
    closing = threading.Thread(target=batcher.close)
    closing.start()
    gated.gate.set()
    closing.join(timeout=5)

    assert not closing.is_alive()
    for future in [busy, *queued]:
        assert future.result(timeout=5).shape == (1, 64)
    assert not batcher.running
    calls = len(gated.calls)
    # after close a call runs on the wrapped encoder directly, and close stays idempotent
    assert batcher.embed_queries(["关闭之后"]).shape == (1, 64)
    assert gated.calls[calls:] == [("query", ["关闭之后"])]
    batcher.close()


def test_a_batcher_never_used_closes_without_a_thread(gated: GatedEmbedder) -> None:
    batcher = BatchingEmbedder(gated)
    batcher.close()
    assert not batcher.running
    assert gated.calls == []


def test_the_fingerprint_is_the_wrapped_encoders(gated: GatedEmbedder) -> None:
    assert BatchingEmbedder(gated).fingerprint == "fake-v1"


@pytest.mark.parametrize(
    ("bounds", "named"),
    [
        ({"max_wait": -0.001}, "max_wait"),
        ({"max_batch": 0}, "max_batch"),
        ({"max_queue": 0}, "max_queue"),
        ({"retry_after": 0}, "retry_after"),
    ],
)
def test_bad_bounds_are_refused_by_name(
    gated: GatedEmbedder, bounds: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        BatchingEmbedder(gated, **bounds)  # type: ignore[arg-type]
