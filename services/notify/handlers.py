"""Notify's case-event subscriber: fold the case's facts, decide the deliveries, store both with the
consumer's position (the delivery-log HTTP API is in ``http.py``)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from faststream.kafka import KafkaRouter

from cluetrail.consume import Apply, Incoming, Rejected
from cluetrail.service import Runtime, case_events_router, exactly_once_consumer
from cluetrail.telemetry import current_traceparent
from contracts.chain import ChainFault
from contracts.jurisdictions import JurisdictionError
from services.notify.adapters import cases, deliveries
from services.notify.adapters.deliveries import NewDelivery, delivery_id_for
from services.notify.adapters.notifier import Notifier
from services.notify.domain.cases import facts_document, fold
from services.notify.domain.notice import TemplateError, notice_body
from services.notify.domain.recipients import ROUTED_EVENTS
from services.notify.domain.reminders import needs_acknowledgement
from services.notify.history import DeliveryStart

CONSUMER_GROUP = "notify"
START = "notify.delivery_start"


def deciding_deliveries(notifier: Notifier, start: Callable[[], DeliveryStart] = DeliveryStart) -> Apply:
    """The consumer's apply step: fold the case's facts, then one delivery per matching recipient and
    channel, stored with the position. Types notify does not route are history: only the facts move.
    Events before the database's start of delivery (``start``) are recorded as skipped, sent to nobody."""

    book = notifier.book

    async def apply(conn: asyncpg.Connection, incoming: Incoming) -> None:
        event = incoming.event
        before = await cases.load_case(conn, event.case_id)
        try:
            facts = fold(before, event)
        except ChainFault as exc:
            raise Rejected(f"case {event.case_id} ({event.type}, {event.event_id}): {exc.reason}") from exc
        if facts is before:
            return  # a copy of an event of this case applied before (a redelivery, a late resend)
        await cases.save_case(conn, facts)
        try:
            routings = book.routings_for(event, facts.responsible_department)
        except JurisdictionError as exc:
            raise Rejected(
                f"cannot route {event.type} of case {event.case_id} seq {event.seq}: {exc}"
            ) from exc
        if not routings:
            return
        history = start().is_history(incoming.record.partition, incoming.record.offset, event.recorded_at)
        # Kept so a delivery whose template failed can be written again on a resend.
        await deliveries.save_routed_event(conn, event.event_id, incoming.document, facts_document(facts))
        # The consumer's span continues the event's trace; deliveries keep it for the sends later.
        traceparent = current_traceparent() or event.traceparent
        for routing in routings:
            recipient = routing.recipient
            needs_ack = needs_acknowledgement(event, facts.key_case, recipient)
            for channel in routing.channels:
                delivery_id = delivery_id_for(event.event_id, recipient.id, channel)
                failure: str | None = None
                try:
                    body = notifier.event_body(event, facts, recipient, channel, delivery_id, needs_ack)
                except TemplateError as exc:
                    # One broken template kills this delivery (dead letter, alert), not the others.
                    failure, body = str(exc), notice_body({"event_id": str(event.event_id)})
                await deliveries.add_delivery(
                    conn,
                    NewDelivery(
                        delivery_id=delivery_id,
                        event_id=event.event_id,
                        recipient_id=recipient.id,
                        case_id=event.case_id,
                        seq=event.seq,
                        event_type=event.type,
                        jurisdiction=event.jurisdiction,
                        body=body,
                        traceparent=traceparent,
                        channel=channel,
                        failure=failure,
                        needs_ack=needs_ack,
                        skipped=history,
                    ),
                )

    return apply


def kafka_routers(notifier: Notifier) -> Callable[[Runtime], list[KafkaRouter]]:
    """Build the case-event subscriber for a runtime (called by the service lifespan). The start of
    delivery is decided before the subscriber joins its group (``history.establish``)."""

    def build(rt: Runtime) -> list[KafkaRouter]:
        def start() -> DeliveryStart:
            decided: DeliveryStart = rt.state[START]
            return decided

        consumer = exactly_once_consumer(rt, CONSUMER_GROUP, deciding_deliveries(notifier, start))
        rt.state["consumer"] = consumer

        def wake_worker(applied: list[Incoming]) -> None:
            worker = rt.state.get("worker")
            if worker is not None and any(i.event.type in ROUTED_EVENTS for i in applied):
                worker.wake()

        return [case_events_router(rt, consumer, after=wake_worker)]

    return build
