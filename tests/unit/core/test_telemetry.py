"""The metrics: each typed method moves its own series, and the exposition is Prometheus text."""

from __future__ import annotations

from core.telemetry import EncoderFigures, Telemetry
from tests.fakes import metric_value


def test_each_method_moves_its_series() -> None:
    telemetry = Telemetry()
    telemetry.request("/v1/sessions/{session_id}/messages", "POST", 200, 0.2)
    telemetry.request("/v1/sessions/{session_id}/messages", "POST", 200, 0.4)
    telemetry.request("/v1/sessions/{session_id}/messages", "POST", 503, 0.001)
    telemetry.encoder_queue_depth(7)
    telemetry.encoder_batch(3)
    telemetry.encoder_forward(2)
    telemetry.handoff_accepted(90.0)
    telemetry.handoff_accepted(-1.0)  # clock skew between workers: counted as no wait
    telemetry.overloaded("encoder")

    body, content_type = telemetry.exposition()
    assert content_type.startswith("text/plain")
    route = {"route": "/v1/sessions/{session_id}/messages", "method": "POST"}
    name = "policydesk_http_request_duration_seconds"
    assert metric_value(body, f"{name}_count", **route, status="200") == 2
    assert abs(metric_value(body, f"{name}_sum", **route, status="200") - 0.6) < 1e-9
    assert metric_value(body, f"{name}_count", **route, status="503") == 1
    assert metric_value(body, f"{name}_bucket", **route, status="200", le="0.25") == 1
    assert metric_value(body, "policydesk_encoder_queue_depth") == 7
    assert metric_value(body, "policydesk_encoder_batch_requests_sum") == 3
    assert metric_value(body, "policydesk_encoder_forward_texts_sum") == 2
    assert metric_value(body, "policydesk_handoff_wait_seconds_count") == 2
    assert metric_value(body, "policydesk_handoff_wait_seconds_sum") == 90
    assert metric_value(body, "policydesk_overload_rejections_total", queue="encoder") == 1


def test_two_instances_keep_their_own_figures() -> None:
    first, second = Telemetry(), Telemetry()
    first.overloaded("encoder")
    assert (
        metric_value(first.exposition()[0], "policydesk_overload_rejections_total", queue="encoder")
        == 1
    )
    assert (
        metric_value(
            second.exposition()[0], "policydesk_overload_rejections_total", queue="encoder"
        )
        == 0
    )


def test_encoder_figures_sum_the_encoder_series_and_take_differences() -> None:
    telemetry = Telemetry()
    telemetry.encoder_batch(3)
    earlier = telemetry.encoder_figures()
    telemetry.encoder_batch(4)
    telemetry.encoder_batch(2)
    telemetry.encoder_forward(2)
    telemetry.encoder_forward(1)
    telemetry.encoder_forward(1)
    telemetry.overloaded("encoder")
    figures = telemetry.encoder_figures().since(earlier)
    assert figures == EncoderFigures(batches=2, requests=6, passes=3, texts=4, refused=1)
    assert figures.requests_per_batch == 3.0
    assert abs(figures.texts_per_pass - 4 / 3) < 1e-12
    assert EncoderFigures(batches=0, requests=0, passes=0, texts=0, refused=0).texts_per_pass == 0
