"""OpenTelemetry set-up and the trace-context plumbing that lets one clue be one trace across services.

FastStream's telemetry middleware carries context in Kafka headers on publish. Events written later
from an outbox also keep the ``traceparent`` of the span that decided them, so the relay can publish
them inside the original trace.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from cluetrail.settings import CommonSettings

_propagator = TraceContextTextMapPropagator()


def _text(attributes: Attributes) -> dict[str, Any]:
    items = (attributes or {}).items()
    return {k: v.decode(errors="replace") if isinstance(v, bytes) else v for k, v in items}


def _one_line(span: ReadableSpan) -> str:
    """One span as one JSON line. FastStream records Kafka message keys as bytes, which ``to_json`` cannot
    encode (the whole export batch would be lost), so bytes in attributes and events are written as text."""
    carries_bytes = any(isinstance(v, bytes) for v in (span.attributes or {}).values()) or any(
        isinstance(v, bytes) for event in span.events for v in (event.attributes or {}).values()
    )
    if carries_bytes:
        span = ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=_text(span.attributes),
            events=[Event(e.name, _text(e.attributes), e.timestamp) for e in span.events],
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
    return span.to_json(indent=None) + "\n"


def setup_tracing(service_name: str, settings: CommonSettings) -> TracerProvider:
    """A tracer provider for the service with the exporter the environment chose (none/console/otlp).

    With none, a span is recorded only under a recorded parent from another service (which exports it, or
    whose trace goes on through this one's events): every record, event and request otherwise made spans,
    attributes and all, that nothing would read; the trace context still travels with each event."""
    exporter: SpanExporter | None = None
    if settings.otel_exporter == "console":
        out: IO[str] = (
            settings.otel_console_file.open("a", encoding="utf-8")
            if settings.otel_console_file
            else sys.stdout
        )
        exporter = ConsoleSpanExporter(service_name=service_name, out=out, formatter=_one_line)
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint from OTEL_EXPORTER_OTLP_ENDPOINT
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=None if exporter is not None else ParentBased(ALWAYS_OFF),
    )
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, to keep inside an event or an outbox row."""
    return trace_headers().get("traceparent")


def trace_headers() -> dict[str, str]:
    """The active span's context as the headers a Kafka record carries (``traceparent``, ``tracestate``)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def context_from_traceparent(traceparent: str | None) -> otel_context.Context:
    return _propagator.extract({"traceparent": traceparent} if traceparent else {})


def context_from_headers(headers: Iterable[tuple[str, bytes]] | None) -> otel_context.Context:
    carrier = {k: v.decode(errors="replace") for k, v in headers or () if k in ("traceparent", "tracestate")}
    return _propagator.extract(carrier)
