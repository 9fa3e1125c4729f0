"""What every service process shares: the runtime (pool, broker, tracer) made in the lifespan, the
health and readiness endpoints, error mapping, and a clean shutdown that finishes in-flight work."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import gc
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.resources.abc import Traversable
from typing import Annotated, Any, TypeVar

import asyncpg
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.message import KafkaAckableMessage
from faststream.message import StreamMessage
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cluetrail import worker
from cluetrail.auth import BEARER_SCHEME
from cluetrail.consume import (
    Apply,
    ApplyRecord,
    ExactlyOnceConsumer,
    Incoming,
    KafkaCommits,
    PositionsListener,
    running_consumers,
)
from cluetrail.db import DATABASE_UNAVAILABLE, open_pool
from cluetrail.deadletter import DeadLetters
from cluetrail.errors import RuleViolation
from cluetrail.kafka import kafka_connection, make_broker, topic_partitions
from cluetrail.logs import Outage, configure_logging
from cluetrail.metrics import CONSUMER_LAG, REGISTRY
from cluetrail.settings import ServiceSettings
from cluetrail.telemetry import setup_tracing
from contracts.api import ProblemDetail

log = logging.getLogger(__name__)
# An idle batch subscriber waits this long for records, then sleeps as long before it asks again (FastStream's
# batch loop), so a record that comes meanwhile waits for the sleep to end. FastStream's 200 ms put up to
# 200 ms on every hop of a clue through the services; a short idle wait costs next to nothing.
IDLE_WAIT_MS = 20
# How often a consumer's offsets go to Kafka after its batches, and after how long idle the last ones do
# (``KafkaCommits``): its stored positions are what count.
KAFKA_COMMIT_SECONDS = 1.0
KAFKA_IDLE_COMMIT_SECONDS = 5.0
# A background consumer (``case_events_router(background=True)``) has the broker answer its fetch once this
# much has gathered, or its ``background_gather_ms`` have passed.
BACKGROUND_GATHER_BYTES = 256 * 1024


@dataclass
class Runtime:
    """A running service's resources. Created at start-up, never at import time."""

    name: str
    settings: ServiceSettings
    tracer_provider: TracerProvider
    pool: asyncpg.Pool
    broker: KafkaBroker
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # The service's own wiring (a frozen dataclass its bootstrap builds from this runtime), given to its
    # routes by one ``Depends`` and to its subscribers when they are made.
    deps: Any = None

    @cached_property
    def tracer(self) -> trace.Tracer:
        """The service's tracer, made once."""
        return self.tracer_provider.get_tracer(f"cluetrail.{self.name}")


D = TypeVar("D")


def dependency(kind: type[D]) -> Callable[[Request], Awaitable[D]]:
    """A FastAPI dependency giving the service's wiring of type ``kind`` (``Runtime.deps``). Async, so
    FastAPI calls it on the event loop rather than in a worker thread on every request."""

    async def provide(request: Request) -> D:
        found = runtime_of(request).deps
        if not isinstance(found, kind):
            raise TypeError(f"the service was wired with {type(found).__name__}, not {kind.__name__}")
        return found

    return provide


def runtime_of(request: Request) -> Runtime:
    """FastAPI dependency: the service runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """FastAPI dependency: one pooled connection per request, within the database timeout (else a
    TimeoutError, answered 503)."""
    runtime = runtime_of(request)
    async with runtime.pool.acquire(timeout=runtime.settings.database_timeout_seconds) as conn:
        yield conn


# A route's pooled connection for the request (``connection``), as one annotation.
Connection = Annotated[asyncpg.Connection, Depends(connection)]


def _problem(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    content = {"detail": detail, "errors": errors or []}
    return JSONResponse(status_code=status, content=content, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each error's field, reason and type; never its input, which may be a reporter's name or the whole
    body (and need not even be text)."""
    return [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
            "reason": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]


# How soon a client refused for a database outage may try again (Retry-After); a restarted PostgreSQL or a
# failover takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 5
# An unreadable body: not JSON at all, or not UTF-8 text (RFC 8259 §8.1).
UNREADABLE = "json_invalid"


class BodyRefused(HTTPException):
    """A request body refused while it is read: over the size limit (413) or not UTF-8 text (400).

    An ``HTTPException``, because FastAPI passes those on from its body reading where it turns any other
    exception into a 400 without a reason."""

    def __init__(self, status_code: int, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(status_code, detail)
        self.errors = errors


class _Unavailable:
    """Logs a database outage seen by requests once per ``every`` seconds, with how many were refused."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.last = -every
        self.refused = 0

    def seen(self, request: Request, exc: Exception) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self.last >= self.every:
            log.warning(
                "answering 503: the database cannot be reached (%s, on %s %s); %d requests refused so far",
                type(exc).__name__,
                request.method,
                request.url.path,
                self.refused,
            )
            self.last = now


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal the same way in every service: a ProblemDetail body (``detail``, ``errors``) with
    the status that says whose move it is: 400 a body that is not readable JSON, 422 readable JSON that
    breaks the contract, 413 a body over the limit, 503 with Retry-After while the database cannot be
    reached (the connection is kept for the retry), the domain's own status for a rule."""
    unavailable = _Unavailable()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        unreadable = [e for e in errors if e["type"] == UNREADABLE]
        if unreadable:
            return _problem(400, f"the body is not readable JSON: {unreadable[0]['reason']}", unreadable)
        summary = "; ".join(f"{e['field'] or 'body'}: {e['reason']}" for e in errors[:5])
        return _problem(422, f"invalid request: {summary}", errors)

    @app.exception_handler(HTTPException)
    async def http_refusal(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc, BodyRefused):
            return _problem(exc.status_code, str(exc.detail), exc.errors)
        if exc.status_code == 400:  # FastAPI's own, for a body it cannot decode
            errors = [{"field": "", "reason": str(exc.detail), "type": UNREADABLE}]
            return _problem(400, f"the body is not readable JSON: {exc.detail}", errors)
        return await http_exception_handler(request, exc)  # routing's 404 and 405, as FastAPI answers them

    @app.exception_handler(RuleViolation)
    async def rule_violation(_: Request, exc: RuleViolation) -> JSONResponse:
        errors = [{"rule": exc.rule}] if exc.rule else []
        return _problem(exc.status_code, exc.reason, errors)

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        unavailable.seen(request, exc)
        what = "the database" if isinstance(exc, asyncpg.PostgresError) else "a server it depends on"
        return _problem(
            503,
            f"the service cannot reach {what} just now ({type(exc).__name__}); "
            f"try again in {DATABASE_RETRY_AFTER_SECONDS} s",
            [{"rule": "database-available"}],
            {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, database_unavailable)


TEXT_TYPES = ("application/json", "text/")
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def _is_json_or_text(content_type: str | None) -> bool:
    """A body read as JSON text: declared JSON (``application/json``, ``…+json``) or text, or not declared
    at all (FastAPI and intake read an undeclared body as JSON)."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith("+json")


def _charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


class BodyRules:
    """ASGI middleware: the rules every request body is read under, written once for every service.

    - At most ``max_bytes``: a body declared or found larger is refused with 413 as soon as that is known,
      before it is parsed (a streamed body without Content-Length is counted as it arrives). A path named in
      ``larger`` has its own limit (intake's public form carries evidence files).
    - JSON and text are UTF-8 (RFC 8259 §8.1): another declared charset, or bytes that are not UTF-8 (GBK,
      UTF-16, a stray ``\\xff``), are refused with 400 rather than guessed at.

    The refusal is raised where the body is read (``BodyRefused``), so a route that never reads its body is
    not refused, and each service answers it through its own error handlers.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        content_type = headers.get("content-type")
        text = _is_json_or_text(content_type)
        charset = _charset(content_type) if text else None
        decoder = codecs.getincrementaldecoder("utf-8")() if text else None
        limit = self.larger.get(scope["path"], self.max_bytes)
        size = 0

        def too_large(length: int | None = None) -> BodyRefused:
            of = "" if length is None else f" of {length} bytes"
            return BodyRefused(
                413, f"request body{of} exceeds the limit of {limit} bytes", [{"rule": "max_body_bytes"}]
            )

        def not_utf8(reason: str) -> BodyRefused:
            detail = f"the body is not readable JSON: {reason}; JSON is exchanged as UTF-8 (RFC 8259)"
            return BodyRefused(400, detail, [{"field": "", "reason": reason, "type": UNREADABLE}])

        async def read() -> Message:
            nonlocal size
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise too_large(int(declared))
            if charset is not None and charset not in UTF8_CHARSETS:
                raise not_utf8(f"its declared charset is {charset}")
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            if size + len(chunk) > limit:
                raise too_large()
            if decoder is not None:
                try:
                    decoder.decode(chunk, final=not message.get("more_body", False))
                except UnicodeDecodeError as exc:
                    raise not_utf8(f"byte {size + exc.start} is not UTF-8 text") from None
            size += len(chunk)
            return message

        await self.app(scope, read, send)


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


def _hoist_defs(document: dict[str, Any], components: dict[str, Any]) -> None:
    """Move the ``$defs`` of schemas written into operations (a body a route reads itself) to the
    document's components, where their references (``#/components/schemas/…``) resolve."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for name, schema in node.pop("$defs", {}).items():
                components.setdefault(name, walk(schema))
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                    node[key] = "#/components/schemas/" + value.removeprefix("#/$defs/")
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        return node

    walk(document.get("paths", {}))


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI document say what its error handlers and middleware send: every 4xx/5xx
    body is a ProblemDetail (FastAPI would document its own validation-error shape for 422); an operation
    that takes a body documents the 400 of a body that is not readable JSON and the 413 of one over the
    limit; every operation the 503 of a database outage; and the bearer token's scheme wherever an
    operation names it (``cluetrail.auth`` declares it on every operation depending on a principal; an
    operation that reads the token itself, as intake's clues, says so with ``security``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["ProblemDetail"] = ProblemDetail.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        _hoist_defs(document, components)
        problem = {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", {"description": "The body is not readable JSON text"})
                    responses.setdefault("413", {"description": "The body exceeds the configured size limit"})
                responses.setdefault(
                    "503",
                    {
                        "description": "The service cannot reach its database just now; try again after "
                        "Retry-After seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    },
                )
                for status, response in responses.items():
                    declared = json.dumps(response.get("content", {}))
                    if status[0] in "45" and (declared == "{}" or "HTTPValidationError" in declared):
                        response["content"] = problem
        if "HTTPValidationError" not in json.dumps(document.get("paths", {})):
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
        if BEARER_SCHEME in json.dumps(document.get("paths", {})):
            document["components"].setdefault("securitySchemes", {})[BEARER_SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An officer's access token (`cluetrail token issue`) naming this service in "
                "its audience",
            }
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
    background: bool = False,
) -> KafkaRouter:
    """The subscriber every consuming service has: the consumer's topic (the case log, unless it was built
    by ``topic_consumer``) in batches, in the consumer's own group, its positions stored with the batch's
    effects (a failed batch is rewound and read again) and told to Kafka once a second (``KafkaCommits``).

    ``before`` runs ahead of each batch (e.g. wait for a catch-up), ``after`` gets the events applied.

    ``background``: nobody waits on this consumer's effects from one moment to the next (notify's notices,
    intake's receipts), so the broker gathers its records for up to ``background_gather_ms`` and it applies
    them in larger batches. Each batch costs a transaction and its spans whatever its size:
    in batches of a few records these consumers held the cores that the consumers a clue's grading waits on
    (triage's, reporting's) need (docs/performance.md).
    """
    router = KafkaRouter()
    instance = rt.settings.instance_id
    commits = KafkaCommits(lambda: subscriber.consumer, KAFKA_COMMIT_SECONDS, KAFKA_IDLE_COMMIT_SECONDS)
    subscriber = router.subscriber(
        consumer.topic,
        group_id=rt.settings.consumer_group(consumer.name),
        # Static membership: a replica that restarts under its name gets its partitions back without a
        # rebalance of the whole group (aiokafka has only eager assignors).
        group_instance_id=f"{consumer.name}-{instance}" if instance else None,
        # The subscriber's Kafka consumer exists once the broker has started it.
        listener=PositionsListener(consumer, lambda: subscriber.consumer),
        batch=True,
        max_records=rt.settings.consumer_batch,
        batch_timeout_ms=IDLE_WAIT_MS,
        # The broker answers a fetch as soon as there is a record (aiokafka's defaults), a background one's
        # once enough has gathered or its time is up.
        fetch_min_bytes=BACKGROUND_GATHER_BYTES if background else 1,
        fetch_max_wait_ms=rt.settings.background_gather_ms if background else 500,
        auto_offset_reset="earliest",
        # A peer region's topics are written by MirrorMaker's transactions: a batch it aborted (killed
        # mid-way) is never read. This region's own topics have no transactions, so nothing else changes.
        isolation_level="read_committed",
        # Offsets go to Kafka from ``commits``; a failed batch is rewound here.
        ack_policy=AckPolicy.MANUAL,
        decoder=the_message,
    )

    @subscriber
    async def on_case_events(msg: KafkaAckableMessage) -> None:
        try:
            if before is not None:
                await before()
            applied = await consumer.process(msg.raw_message)
        except Exception:
            await msg.nack()  # read again from the batch's first record
            raise
        await commits.applied(msg.raw_message)
        if after is not None and applied:
            after(applied)

    rt.tasks.append(asyncio.create_task(commits.run(rt.stopping), name=f"{consumer.name} kafka commits"))
    return router


async def the_message(msg: StreamMessage[Any]) -> StreamMessage[Any]:
    """The subscribers read the raw records (``msg.raw_message``) themselves, so the body handed to them is
    the message: FastStream's own decoding of a batch, a message object and a JSON parse per record, would be
    thrown away. (The broker injects no arguments, ``make_broker``.)"""
    return msg


async def watch_consumer_lag(runtime: Runtime, every: float = 5.0) -> None:
    """Keep the lag gauge of each exactly-once consumer of this process current until shutdown."""
    outage = Outage(log, "measuring consumer lag")
    kafka = AIOKafkaConsumer(**kafka_connection(runtime.settings), enable_auto_commit=False)
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


class InstanceTaken(RuntimeError):
    """Another live process holds this replica's ``CLUETRAIL_INSTANCE_ID``."""


async def claim_instance(runtime: Runtime) -> asyncpg.Connection | None:
    """Static membership is safe only with one live process per instance id: Kafka fences the older of two
    and aiokafka does not stop on it. The id is claimed as a PostgreSQL session lock instead, held on a
    connection of its own for the life of the process; a second process under the same id does not start."""
    instance = runtime.settings.instance_id
    if instance is None:
        return None
    conn = await asyncpg.connect(runtime.settings.database_for(runtime.name))
    if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"instance:{instance}"):
        await conn.close()
        raise InstanceTaken(
            f"another {runtime.name} process runs as instance {instance} (CLUETRAIL_INSTANCE_ID): two "
            "members under one name would fence each other; give each replica its own"
        )
    return conn


async def hold_instance(runtime: Runtime, claim: asyncpg.Connection) -> None:
    """Keep the instance claim; when its connection is lost (the lock with it), claim again, and stop the
    process if another has taken the id meanwhile — a fenced member must not go on consuming. A claim
    taken again is this task's to close; the first one the lifespan closes."""
    first = claim
    try:
        while not runtime.stopping.is_set():
            await asyncio.sleep(5)
            try:
                await claim.fetchval("SELECT 1")
                continue
            except (asyncpg.PostgresError, *DATABASE_UNAVAILABLE):
                pass
            try:
                claim = await claim_instance(runtime) or claim
            except InstanceTaken as exc:
                log.critical("%s; stopping", exc)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except (asyncpg.PostgresError, *DATABASE_UNAVAILABLE):
                continue  # the database is away: consuming stops with it; claim again when it is back
    finally:
        if claim is not first:
            with contextlib.suppress(asyncpg.PostgresError, *DATABASE_UNAVAILABLE):
                await claim.close()


def create_service_app(
    *,
    name: str,
    settings: ServiceSettings,
    title: str,
    migrations: Sequence[Traversable] = (),
    http_routers: Sequence[APIRouter] = (),
    dependencies: Callable[[Runtime], object] | None = None,
    kafka_routers: Callable[[Runtime], Sequence[KafkaRouter]] = lambda _: (),
    on_startup: Startup | None = None,
    on_shutdown: Startup | None = None,
    pool_reset: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    before_consuming: Startup | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """A FastAPI app whose lifespan owns the pool, the broker and background tasks of one service.

    ``dependencies`` builds the service's wiring (``Runtime.deps``) once the pool and broker exist, before
    ``kafka_routers`` makes the subscribers. ``before_consuming`` runs once the pool is open and before the
    subscribers join their groups (e.g. to decide where a new database starts); ``on_startup`` runs once
    they have. ``body_limits`` gives paths a body limit of their own (``BodyRules``).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracer_provider = setup_tracing(name, settings)
        pool = await open_pool(
            settings.database_for(name),
            *migrations,
            reset=pool_reset,
            connect_timeout=settings.database_timeout_seconds,
        )
        broker = make_broker(settings, name, tracer_provider)
        runtime = Runtime(name, settings, tracer_provider, pool, broker)
        app.state.runtime = runtime
        if dependencies is not None:
            runtime.deps = dependencies(runtime)
        for router in kafka_routers(runtime):
            broker.include_router(router)
        claim: asyncpg.Connection | None = None
        try:
            claim = await claim_instance(runtime)
            if claim is not None:
                runtime.tasks.append(asyncio.create_task(hold_instance(runtime, claim), name="instance"))
            if before_consuming is not None:
                await before_consuming(runtime)
            await broker.start()
            if on_startup is not None:
                await on_startup(runtime)
            if running_consumers():
                runtime.tasks.append(asyncio.create_task(watch_consumer_lag(runtime), name="consumer-lag"))
            # What start-up made (the app, the jurisdiction tree, schemas, pools) lives as long as the
            # process: out of the collector's sight, full collections under load no longer walk it each time.
            gc.collect()
            gc.freeze()
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
            if claim is not None:
                with contextlib.suppress(asyncpg.PostgresError, *DATABASE_UNAVAILABLE):
                    await claim.close()
            await pool.close()
            tracer_provider.shutdown()

    # The service traces with its own tracer provider, never a global one, so FastAPI's native telemetry has
    # nothing to report to; left on, it looks for global providers (in the environment) on every request.
    app = FastAPI(
        title=title, lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False}
    )
    app.state.ready = False
    install_error_handlers(app)
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyRules, max_bytes=settings.max_body_bytes, larger=body_limits)

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


def run(create_app: Callable[[Any], FastAPI], settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT, then let the lifespan finish in-flight work.

    With ``CLUETRAIL_WORKERS`` > 1, that many worker processes share the port, each on a socket of its own
    (``cluetrail.worker``, which replaces one that dies); each builds its own app from ``create_app`` and
    the settings class and is one more replica of the service's consumers."""
    configure_logging()
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        # uvicorn's records go to the process's handler, whose filters keep request data out of the log.
        "log_config": None,
        "access_log": settings.access_log,
        "timeout_graceful_shutdown": int(settings.shutdown_grace_seconds),
        # libuv's event loop and the C HTTP parser: with uvicorn's defaults (asyncio's loop, h11 in pure
        # Python) intake spent an eighth more CPU per clue.
        "loop": "uvloop",
        "http": "httptools",
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **common)
        return
    os.environ[worker.FACTORY] = f"{create_app.__module__}:{create_app.__qualname__}"
    os.environ[worker.SETTINGS] = f"{type(settings).__module__}:{type(settings).__qualname__}"
    worker.supervise(settings.workers, common)
