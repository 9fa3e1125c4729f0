"""What every service process shares: the runtime (pool, broker, tracer) made in the lifespan, the
health and readiness endpoints, error mapping, and a clean shutdown that finishes in-flight work."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

import asyncpg
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

from cluetrail.consume import Apply, ApplyRecord, ExactlyOnceConsumer, Incoming, running_consumers
from cluetrail.db import open_pool
from cluetrail.deadletter import DeadLetters
from cluetrail.errors import RuleViolation
from cluetrail.kafka import make_broker, topic_partitions
from cluetrail.logs import Outage, configure_logging
from cluetrail.metrics import CONSUMER_LAG, REGISTRY
from cluetrail.settings import ServiceSettings
from cluetrail.telemetry import setup_tracing
from contracts.api import ProblemDetail

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """A running service's resources. Created at start-up, never at import time."""

    name: str
    settings: ServiceSettings
    tracer_provider: TracerProvider
    pool: asyncpg.Pool
    broker: KafkaBroker
    state: dict[str, Any] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def tracer(self) -> trace.Tracer:
        return self.tracer_provider.get_tracer(f"cluetrail.{self.name}")


def runtime_of(request: Request) -> Runtime:
    """FastAPI dependency: the service runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """FastAPI dependency: one pooled connection per request."""
    async with runtime_of(request).pool.acquire() as conn:
        yield conn


def _problem(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail, "errors": errors or []})


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "reason": e["msg"], "type": e["type"]}
        for e in jsonable_encoder(exc.errors())
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        summary = "; ".join(f"{e['field'] or 'body'}: {e['reason']}" for e in errors[:5])
        return _problem(422, f"invalid request: {summary}", errors)

    @app.exception_handler(RuleViolation)
    async def rule_violation(_: Request, exc: RuleViolation) -> JSONResponse:
        errors = [{"rule": exc.rule}] if exc.rule else []
        return _problem(exc.status_code, exc.reason, errors)


class RefuseNul:
    """ASGI middleware: a path or query string carrying U+0000 (``%00``) is refused with 422 before
    routing. PostgreSQL text cannot hold U+0000: as a query parameter it failed the SQL (500), and
    recorded in an event it would be refused by every projection reading the event."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            b"%00" in scope.get("query_string", b"") or b"%00" in scope.get("raw_path", b"")
        ):
            reason = "the request's path or query contains U+0000 (NUL), which no text may hold"
            refusal = _problem(422, reason, [{"rule": "no-nul"}])
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI document say what its error handlers send: every 4xx/5xx body is a
    ProblemDetail (FastAPI would document its own validation-error shape for 422), and an operation
    that takes a body documents the 400 FastAPI answers when the body is not even text."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["ProblemDetail"] = ProblemDetail.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        problem = {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", {"description": "The body is not readable JSON text"})
                for status, response in responses.items():
                    declared = json.dumps(response.get("content", {}))
                    if status[0] in "45" and (declared == "{}" or "HTTPValidationError" in declared):
                        response["content"] = problem
        if "HTTPValidationError" not in json.dumps(document.get("paths", {})):
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


Startup = Callable[[Runtime], Awaitable[None]]


def exactly_once_consumer(rt: Runtime, name: str, apply: Apply, **options: Any) -> ExactlyOnceConsumer:
    """A consumer of the case log named ``name`` (its positions and dead letters carry the name) on the
    runtime's pool."""
    return ExactlyOnceConsumer(
        name=name,
        topic=rt.settings.case_topic,
        pool=rt.pool,
        dead_letters=DeadLetters(rt.broker, rt.settings, name),
        apply=apply,
        tracer=rt.tracer,
        **options,
    )


def topic_consumer(
    rt: Runtime, name: str, topic: str, apply_record: ApplyRecord, **options: Any
) -> ExactlyOnceConsumer:
    """A consumer of another topic (e.g. notify's notices), applying each raw record exactly once as
    ``exactly_once_consumer`` does case events."""
    return ExactlyOnceConsumer(
        name=name,
        topic=topic,
        pool=rt.pool,
        dead_letters=DeadLetters(rt.broker, rt.settings, name),
        apply_record=apply_record,
        tracer=rt.tracer,
        **options,
    )


def case_events_router(
    rt: Runtime,
    consumer: ExactlyOnceConsumer,
    *,
    before: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[list[Incoming]], None] | None = None,
) -> KafkaRouter:
    """The subscriber every consuming service has: the consumer's topic (the case log, unless it was built
    by ``topic_consumer``) in batches, in the consumer's own group, offsets committed only after the batch's
    effects (a failed batch is rewound and redelivered).

    ``before`` runs ahead of each batch (e.g. wait for a catch-up), ``after`` gets the events applied.
    """
    router = KafkaRouter()

    @router.subscriber(
        consumer.topic,
        group_id=rt.settings.consumer_group(consumer.name),
        batch=True,
        max_records=rt.settings.consumer_batch,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_case_events(msg: KafkaMessage) -> None:
        if before is not None:
            await before()
        applied = await consumer.process(msg.raw_message)
        if after is not None and applied:
            after(applied)

    return router


async def watch_consumer_lag(runtime: Runtime, every: float = 5.0) -> None:
    """Keep the lag gauge of each exactly-once consumer of this process current until shutdown."""
    outage = Outage(log, "measuring consumer lag")
    kafka = AIOKafkaConsumer(bootstrap_servers=runtime.settings.kafka_bootstrap, enable_auto_commit=False)
    await kafka.start()
    try:
        while not runtime.stopping.is_set():
            try:
                ends: dict[str, dict[TopicPartition, int]] = {}
                for consumer in running_consumers():
                    if consumer.topic not in ends:
                        partitions = await topic_partitions(kafka, consumer.topic)
                        ends[consumer.topic] = await kafka.end_offsets(partitions)
                    positions = await consumer.stored_positions()
                    for tp, end in ends[consumer.topic].items():
                        applied_through = positions.get((tp.topic, tp.partition), -1)
                        CONSUMER_LAG.labels(consumer.name, tp.topic, str(tp.partition)).set(
                            end - applied_through - 1
                        )
            except Exception as exc:
                outage.failed(exc)
            else:
                outage.recovered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), timeout=every)
    finally:
        await kafka.stop()


def create_service_app(
    *,
    name: str,
    settings: ServiceSettings,
    title: str,
    migrations: Sequence[Traversable] = (),
    http_routers: Sequence[APIRouter] = (),
    kafka_routers: Callable[[Runtime], Sequence[KafkaRouter]] = lambda _: (),
    on_startup: Startup | None = None,
    on_shutdown: Startup | None = None,
    pool_reset: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    before_consuming: Startup | None = None,
) -> FastAPI:
    """A FastAPI app whose lifespan owns the pool, the broker and background tasks of one service.

    ``before_consuming`` runs once the pool is open and before the subscribers join their groups (e.g. to
    decide where a new database starts); ``on_startup`` runs once they have.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracer_provider = setup_tracing(name, settings)
        pool = await open_pool(settings.database_for(name), *migrations, reset=pool_reset)
        broker = make_broker(settings, name, tracer_provider)
        runtime = Runtime(name, settings, tracer_provider, pool, broker)
        app.state.runtime = runtime
        for router in kafka_routers(runtime):
            broker.include_router(router)
        try:
            if before_consuming is not None:
                await before_consuming(runtime)
            await broker.start()
            if on_startup is not None:
                await on_startup(runtime)
            if running_consumers():
                runtime.tasks.append(asyncio.create_task(watch_consumer_lag(runtime), name="consumer-lag"))
            app.state.ready = True
            log.info("%s ready on %s:%s", name, settings.host, settings.port)
            yield
        finally:
            app.state.ready = False
            runtime.stopping.set()
            # Stop consuming first (in-flight batches finish and commit), then background work.
            await broker.stop()
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            if on_shutdown is not None:
                await on_shutdown(runtime)
            await pool.close()
            tracer_provider.shutdown()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.ready = False
    install_error_handlers(app)
    app.add_middleware(RefuseNul)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": name}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: started, database reachable, broker connected."""
        if not request.app.state.ready:
            return _problem(503, f"{name} is starting or stopping")
        runtime = runtime_of(request)
        try:
            async with runtime.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
            if not await asyncio.wait_for(runtime.broker.ping(timeout=2), timeout=3):
                raise ConnectionError("Kafka does not answer")
        except Exception as exc:
            return _problem(503, f"{name} not ready: {type(exc).__name__}: {exc}")
        return JSONResponse({"status": "ready", "service": name})

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus metrics: messages in and out per topic, events applied, dead letters, consumer lag."""
        return PlainTextResponse(generate_latest(REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST)

    for router in http_routers:
        app.include_router(router)
    document_problems(app)
    return app


def run(app: FastAPI, settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT, then let the lifespan finish in-flight work."""
    configure_logging()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
