"""Kafka over mutual TLS, as a Strimzi listener with `authentication: {type: tls}` serves it: the broker
requires a client certificate signed by its authority, and the four services, `stack init` and the audit
connect with theirs (CLUETRAIL_KAFKA_SSL_CAFILE / _CERTFILE / _KEYFILE). A client without one gets nowhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from cluetrail.kafka import kafka_connection
from cluetrail.settings import CommonSettings
from tests.cases import reader
from tests.faults import checks
from tests.harness import Stack, WebhookRecorder, wait_until
from tests.integration.ledger import all_in_ledger, post_clues, some_clues
from tests.servers import PrivateKafka
from tests.tls import CertificateAuthority

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("tls") / "certs")


@pytest.fixture(scope="module")
def tls_broker(
    authority: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(state=tmp_path_factory.mktemp("tls-broker"), tls_dir=authority.directory)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


def topics(settings: CommonSettings) -> list[str]:
    """The broker's topics as a client of ``settings`` lists them."""

    async def listed() -> list[str]:
        admin = AIOKafkaAdminClient(**kafka_connection(settings), request_timeout_ms=5000)
        await admin.start()
        try:
            return sorted(await admin.list_topics())
        finally:
            await admin.close()

    return asyncio.run(listed())


def test_services_speak_kafka_over_mutual_tls(
    authority: CertificateAuthority, tls_broker: PrivateKafka, recorder: WebhookRecorder, tmp_path: Path
) -> None:
    certfile, keyfile = authority.client("cluetrail")
    stack = Stack(
        tmp_path,
        recorder,
        env={
            "CLUETRAIL_KAFKA_BOOTSTRAP": tls_broker.bootstrap,
            "CLUETRAIL_KAFKA_SSL_CAFILE": str(authority.ca_file),
            "CLUETRAIL_KAFKA_SSL_CERTFILE": str(certfile),
            "CLUETRAIL_KAFKA_SSL_KEYFILE": str(keyfile),
            "CLUETRAIL_OTEL_EXPORTER": "none",
        },
    )
    try:
        stack.start_all()
        case_ids = post_clues(stack, some_clues(6))
        with reader(stack) as reporting:
            rows = wait_until(lambda: all_in_ledger(reporting, case_ids), timeout=90)
        assert all(row["grade"] for row in rows.values()), rows
        audit = checks.audit_verify(stack)
        assert audit.ok, audit.detail
        assert stack.settings().case_topic in topics(stack.settings())
    finally:
        stack.stop_all()


def test_a_client_without_a_certificate_is_refused(
    authority: CertificateAuthority, tls_broker: PrivateKafka
) -> None:
    base = CommonSettings(environment="local", kafka_bootstrap=tls_broker.bootstrap)
    with pytest.raises(KafkaConnectionError):
        topics(base)  # plain Kafka to a TLS listener
    trusting = base.model_copy(update={"kafka_ssl_cafile": authority.ca_file})
    with pytest.raises(KafkaConnectionError):
        topics(trusting)  # TLS, but no client certificate
    certfile, keyfile = authority.client("intake")
    known = trusting.model_copy(update={"kafka_ssl_certfile": certfile, "kafka_ssl_keyfile": keyfile})
    assert isinstance(topics(known), list)


def test_a_client_certificate_needs_its_key_and_an_authority() -> None:
    with pytest.raises(ValueError, match="CERTFILE and CLUETRAIL_KAFKA_SSL_KEYFILE go together"):
        CommonSettings(environment="local", kafka_ssl_certfile=Path("user.crt"))
    with pytest.raises(ValueError, match="needs CLUETRAIL_KAFKA_SSL_CAFILE"):
        CommonSettings(environment="local", kafka_ssl_certfile=Path("a.crt"), kafka_ssl_keyfile=Path("a.key"))
