"""A certificate authority of a test's own, as Strimzi's clients and cluster CAs are: a broker certificate for
127.0.0.1 and one client certificate per service, all PEM files in one directory; and the ACLs of Strimzi's
KafkaUsers granted on a test broker.

Shared by the tests of Kafka over TLS; a test module never imports another test module's helpers.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertificateAuthority:
    """Signs the broker's and the clients' certificates; ``directory`` holds ca.pem and broker.pem (the
    layout deploy/bin/kafka.sh's KAFKA_TLS_DIR expects) and <name>.crt / <name>.key per client."""

    directory: Path

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name("cluetrail test CA"))
            .issuer_name(_name("cluetrail test CA"))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file.write_bytes(_cert_pem(self._cert))
        key, cert = self._issue("broker", server=True)
        # A PEM keystore: the private key, then the certificate chain.
        (self.directory / "broker.pem").write_bytes(_key_pem(key) + _cert_pem(cert) + _cert_pem(self._cert))

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    def client(self, name: str) -> tuple[Path, Path]:
        """A client certificate for ``name`` (its principal User:CN=<name>), as (certificate, key) files."""
        key, cert = self._issue(name, server=False)
        certfile, keyfile = self.directory / f"{name}.crt", self.directory / f"{name}.key"
        certfile.write_bytes(_cert_pem(cert))
        keyfile.write_bytes(_key_pem(key))
        return certfile, keyfile

    def _issue(self, name: str, *, server: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # The broker is a client of itself too (its own listener between nodes).
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                    if server
                    else [ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return key, builder.sign(self._key, hashes.SHA256())


# Kafka's protocol codes (org.apache.kafka.common.resource / acl) of what a Strimzi KafkaUser's ACLs name.
RESOURCE_TYPES = {"topic": 2, "group": 3, "cluster": 4, "transactionalId": 5}
PATTERN_TYPES = {"literal": 3, "prefix": 4}
OPERATIONS = {
    "All": 2, "Read": 3, "Write": 4, "Create": 5, "Delete": 6, "Alter": 7, "Describe": 8,
    "ClusterAction": 9, "DescribeConfigs": 10, "AlterConfigs": 11, "IdempotentWrite": 12,
}  # fmt: skip
ALLOW = 3


def acl_bindings(user: dict[str, Any], topic_prefix: str) -> list[tuple[int, str, int, str, int]]:
    """A KafkaUser's ACLs as Kafka's (resource type, name, pattern type, principal, operation), its principal
    ``User:CN=<name>`` as Strimzi's TLS users have it, and the names of deploy/strimzi/users.yaml (written
    for the topic prefix ``cluetrail``) moved to ``topic_prefix``."""
    principal = f"User:CN={user['metadata']['name']}"
    bindings = []
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        name = resource.get("name", "kafka-cluster")
        name = re.sub(r"(^|\.)cluetrail\.", rf"\g<1>{topic_prefix}.", name)
        pattern = PATTERN_TYPES[resource.get("patternType", "literal")]
        for operation in acl["operations"]:
            bindings.append(
                (RESOURCE_TYPES[resource["type"]], name, pattern, principal, OPERATIONS[operation])
            )
    return bindings


async def grant(admin: AIOKafkaAdminClient, bindings: list[tuple[int, str, int, str, int]]) -> None:
    """Create the ACLs (``admin`` connected as a super user); aiokafka's admin client has no call for it, so
    the protocol's CreateAcls request is sent as it is."""
    for resource_type, name, pattern, principal, operation in bindings:
        request = CreateAclsRequest(resource_type, name, pattern, principal, "*", operation, ALLOW)
        response = await admin._send_request(request)
        for result in response.creation_responses:
            if result[0] != 0:
                raise RuntimeError(f"ACL {name} {operation} for {principal}: error {result[0]} {result[1]}")
