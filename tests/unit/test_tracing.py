"""Tracing with no exporter records no span of its own, yet keeps each trace going through its events; with
one, every span is recorded."""

from __future__ import annotations

from cluetrail.settings import CommonSettings
from cluetrail.telemetry import context_from_traceparent, setup_tracing, trace_headers

SAMPLED_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
UNSAMPLED_PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"


def tracer(exporter: str):  # type: ignore[no-untyped-def]
    settings = CommonSettings(environment="local", otel_exporter=exporter)
    return setup_tracing("unit", settings).get_tracer("unit")


def test_without_an_exporter_a_span_of_its_own_is_not_recorded_but_its_context_travels() -> None:
    with tracer("none").start_as_current_span("decide") as span:
        assert not span.is_recording()
        headers = trace_headers()
    # An event decided here carries a trace context all the same, for the services after it: not sampled.
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16 and not int(flags, 16) & 1


def test_without_an_exporter_a_recorded_trace_from_another_service_goes_on() -> None:
    with tracer("none").start_as_current_span(
        "apply", context=context_from_traceparent(SAMPLED_PARENT)
    ) as span:
        assert span.is_recording()
        headers = trace_headers()
    assert headers["traceparent"].split("-")[1] == SAMPLED_PARENT.split("-")[1]
    assert int(headers["traceparent"].split("-")[3], 16) & 1
    unsampled = context_from_traceparent(UNSAMPLED_PARENT)
    with tracer("none").start_as_current_span("apply", context=unsampled) as span:
        assert not span.is_recording()


def test_with_an_exporter_every_span_is_recorded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = CommonSettings(
        environment="local", otel_exporter="console", otel_console_file=tmp_path / "spans.jsonl"
    )
    provider = setup_tracing("unit", settings)
    try:
        with provider.get_tracer("unit").start_as_current_span("decide") as span:
            assert span.is_recording()
    finally:
        provider.shutdown()
