"""Kafka over mutual TLS, as a Strimzi listener with `authentication: {type: tls}` and `authorization:
simple` serves it: the broker requires a client certificate signed by its authority and holds each client
to its user's ACLs; the four services, `stack init` and the audit connect with theirs
(CLUETRAIL_KAFKA_SSL_CAFILE / _CERTFILE / _KEYFILE). A client without a certificate gets nowhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from aiokafka.helpers import create_ssl_context

from cluetrail.kafka import kafka_connection, notice_topic
from cluetrail.settings import CommonSettings
from tests.cases import reader
from tests.faults import checks
from tests.harness import ROOT, SERVICES, Stack, WebhookRecorder, wait_until
from tests.integration.ledger import all_in_ledger, post_clues, some_clues
from tests.servers import PrivateKafka
from tests.tls import CertificateAuthority, acl_bindings, grant

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("tls") / "certs")


STRIMZI_USERS = ROOT / "deploy" / "strimzi" / "users.yaml"
CLIENTS = ("intake", "triage", "reporting", "notify", "stack-init")


@pytest.fixture(scope="module")
def acl_broker(
    authority: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivateKafka]:
    """A TLS broker that holds every client to its ACLs, but the nodes' own principals."""
    broker = PrivateKafka(
        state=tmp_path_factory.mktemp("acl-broker"),
        tls_dir=authority.directory,
        super_users="User:CN=broker;User:ANONYMOUS",
    )
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


def test_a_client_without_a_certificate_is_refused(
    authority: CertificateAuthority, acl_broker: PrivateKafka
) -> None:
    base = CommonSettings(environment="local", kafka_bootstrap=acl_broker.bootstrap)
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


def as_client(authority: CertificateAuthority, name: str) -> dict[str, str]:
    """The settings of a client presenting the certificate of user ``name``."""
    certfile, keyfile = authority.client(name)
    return {
        "CLUETRAIL_KAFKA_SSL_CAFILE": str(authority.ca_file),
        "CLUETRAIL_KAFKA_SSL_CERTFILE": str(certfile),
        "CLUETRAIL_KAFKA_SSL_KEYFILE": str(keyfile),
    }


def client_settings(authority: CertificateAuthority, name: str) -> dict[str, object]:
    certfile, keyfile = authority.client(name)
    return {
        "kafka_ssl_cafile": authority.ca_file,
        "kafka_ssl_certfile": certfile,
        "kafka_ssl_keyfile": keyfile,
    }


async def send(settings: CommonSettings, topic: str) -> None:
    producer = AIOKafkaProducer(**kafka_connection(settings), acks="all", request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"k")
    finally:
        await producer.stop()


def test_each_service_does_its_work_within_its_kafka_users_acls(
    authority: CertificateAuthority, acl_broker: PrivateKafka, recorder: WebhookRecorder, tmp_path: Path
) -> None:
    """deploy/strimzi/users.yaml's ACLs granted as Strimzi's user operator grants them: each service, the
    stack-init Job and the audit, each with its own user's certificate, do the whole of a clue's work."""
    stack = Stack(
        tmp_path,
        recorder,
        env={"CLUETRAIL_KAFKA_BOOTSTRAP": acl_broker.bootstrap, "CLUETRAIL_OTEL_EXPORTER": "none"},
    )
    settings = stack.settings()
    users = {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all(STRIMZI_USERS.read_text(encoding="utf-8"))
        if doc and doc["kind"] == "KafkaUser"
    }
    broker_cert, broker_key = authority.client("broker")

    async def grant_all() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=acl_broker.bootstrap,
            security_protocol="SSL",
            ssl_context=create_ssl_context(
                cafile=str(authority.ca_file), certfile=str(broker_cert), keyfile=str(broker_key)
            ),
        )
        await admin.start()
        try:
            for name in CLIENTS:
                await grant(admin, acl_bindings(users[name], settings.topic_prefix))
        finally:
            await admin.close()

    asyncio.run(grant_all())
    try:
        stack.mail.start()
        stack.env.update(as_client(authority, "stack-init"))
        stack.init()
        for name in ("intake", "triage", "reporting", "notify"):
            stack.env.update(as_client(authority, name))
            stack.start(name)
        case_ids = post_clues(stack, some_clues(6))
        with reader(stack) as reporting:
            rows = wait_until(lambda: all_in_ledger(reporting, case_ids), timeout=90)
        assert all(row["grade"] for row in rows.values()), rows
        stack.env.update(as_client(authority, "reporting"))
        audit = checks.audit_verify(stack)
        assert audit.ok, audit.detail
        logs = "".join(stack.log_file(name).read_text(errors="replace") for name in SERVICES)
        assert "TopicAuthorizationFailed" not in logs and "GroupAuthorizationFailed" not in logs
        # What a user is not granted it cannot do: intake writes no notices, a stranger sees no topic.
        intake = settings.model_copy(update=client_settings(authority, "intake"))
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(send(intake, notice_topic(settings)))
        stranger = settings.model_copy(update=client_settings(authority, "stranger"))
        assert settings.case_topic in topics(intake)
        assert topics(stranger) == []
    finally:
        stack.stop_all()
