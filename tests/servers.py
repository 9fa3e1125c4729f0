"""Brokers, database servers and MirrorMaker of a test run's own, run by the project's deploy scripts.

The fault suite kills and restarts them, the regions tests need a second Kafka cluster and MirrorMaker 2
between the two: each lives under a state directory of its own (``CLUETRAIL_VAR``) on free ports, so
nothing here touches the broker and database that ``make stack-up`` runs for everyone else. They use the
jars already fetched into ``var/kafka/libs`` and ``var/mm2/libs`` (``KAFKA_LIBS``, ``MM2_LIBS``).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness import ROOT, free_port

KAFKA_SCRIPT = ROOT / "deploy" / "bin" / "kafka.sh"
POSTGRES_SCRIPT = ROOT / "deploy" / "bin" / "postgres.sh"
MM2_SCRIPT = ROOT / "deploy" / "bin" / "mm2.sh"

Say = Callable[[str], None]


def _quiet(line: str) -> None:
    del line


@dataclass(kw_only=True)
class ScriptedServer:
    """A server one of the deploy scripts starts and stops, with its state under ``state``."""

    script: Path
    state: Path
    say: Say = _quiet

    def env(self) -> dict[str, str]:
        return {**os.environ, "CLUETRAIL_VAR": str(self.state)}

    def run(self, command: str) -> None:
        """``<script> <command>``, its output passed to ``say``; RuntimeError when it fails."""
        done = subprocess.run(
            [str(self.script), command],
            env=self.env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        for line in done.stdout.splitlines():
            self.say(line)
        if done.returncode != 0:
            raise RuntimeError(
                f"{self.script.name} {command} failed with exit status {done.returncode}: "
                + " | ".join(done.stdout.splitlines()[-5:])
            )

    def start(self) -> None:
        self.run("start")

    def stop(self) -> None:
        self.run("stop")

    def pid_file(self) -> Path:
        raise NotImplementedError

    def config_file(self) -> Path:
        raise NotImplementedError

    def pid(self) -> int:
        """The running server's pid, checked against its configuration path (never found by name)."""
        pid = int(self.pid_file().read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        if str(self.config_file()) not in cmdline:
            raise RuntimeError(f"pid {pid} is not the server of {self.state}")
        return pid

    def kill(self) -> int:
        """SIGKILL, then wait until the process is gone; returns its pid."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.say(f"{self.script.stem}: killed pid {pid} with SIGKILL")
        return pid


@dataclass(kw_only=True)
class PrivateKafka(ScriptedServer):
    """A single-node KRaft broker (``deploy/bin/kafka.sh``)."""

    script: Path = KAFKA_SCRIPT
    port: int = 0
    controller_port: int = 0
    heap: str = "-Xms128m -Xmx512m"
    # A node of a cluster: its id, the quorum of all nodes, the id they share, the replication factor.
    node_id: int = 1
    voters: str = ""
    cluster_id: str = ""
    replication: int = 1
    # Serve clients over mutual TLS (deploy/bin/kafka.sh KAFKA_TLS_DIR: ca.pem, broker.pem); None: plain.
    tls_dir: Path | None = None
    # With tls_dir: every client held to ACLs but these principals (KAFKA_SUPER_USERS); "": no authorizer.
    super_users: str = ""

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "KAFKA_LIBS": os.environ.get("KAFKA_LIBS", str(ROOT / "var" / "kafka" / "libs")),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_HEAP_OPTS": self.heap,
            "KAFKA_NODE_ID": str(self.node_id),
            "KAFKA_VOTERS": self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "KAFKA_CLUSTER_ID": self.cluster_id,
            "KAFKA_REPLICATION": str(self.replication),
            "KAFKA_TLS_DIR": "" if self.tls_dir is None else str(self.tls_dir),
            "KAFKA_SUPER_USERS": self.super_users,
        }

    def pid_file(self) -> Path:
        return self.state / "kafka" / "kafka.pid"

    def config_file(self) -> Path:
        return self.state / "kafka" / "server.properties"


def kraft_cluster_id() -> str:
    """A cluster id as Kafka's own random-uuid makes one: 16 random bytes in URL-safe base64, never starting
    with "-" (kafka-storage would take it for an option and refuse to format; one id in 64 did)."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


class KafkaCluster:
    """Three KRaft nodes (broker and controller each) under ``state/node-<id>``: replication factor 3,
    min.insync.replicas 2. They are started together: a node is ready only once a quorum of them is."""

    def __init__(self, state: Path, size: int = 3, say: Say = _quiet) -> None:
        controllers = [free_port() for _ in range(size)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{port}" for i, port in enumerate(controllers))
        cluster_id = kraft_cluster_id()
        self.nodes = [
            PrivateKafka(
                state=state / f"node-{i + 1}",
                say=say,
                controller_port=controllers[i],
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
                replication=size,
            )
            for i in range(size)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> PrivateKafka:
        return self.nodes[node_id - 1]

    def start(self) -> None:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.start(), self.nodes))

    def stop(self) -> None:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(), self.nodes))


@dataclass(kw_only=True)
class PrivatePostgres(ScriptedServer):
    """A PostgreSQL server (``deploy/bin/postgres.sh``; role and database ``cluetrail``)."""

    script: Path = POSTGRES_SCRIPT
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()

    @property
    def database_url(self) -> str:
        return f"postgresql://cluetrail:cluetrail@127.0.0.1:{self.port}/cluetrail"

    def env(self) -> dict[str, str]:
        return {**super().env(), "PGPORT": str(self.port)}


@dataclass(kw_only=True)
class MirrorMaker(ScriptedServer):
    """MirrorMaker 2 in dedicated mode between ``clusters`` (alias → bootstrap), replicating the topics
    that match ``topics`` both ways, exactly once (``deploy/bin/mm2.sh``)."""

    script: Path = MM2_SCRIPT
    clusters: Mapping[str, str] = field(default_factory=dict)
    topics: str = ""
    rest_port: int = 0

    def __post_init__(self) -> None:
        self.rest_port = self.rest_port or free_port()

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "MM2_LIBS": os.environ.get("MM2_LIBS", str(ROOT / "var" / "mm2" / "libs")),
            "MM2_CLUSTERS": ",".join(f"{alias}={bootstrap}" for alias, bootstrap in self.clusters.items()),
            "MM2_TOPICS": self.topics,
            "MM2_REST_PORT": str(self.rest_port),
            "MM2_HEAP_OPTS": "-Xms128m -Xmx384m",
        }

    def fetch(self) -> None:
        self.run("fetch")

    def pid_file(self) -> Path:
        return self.state / "mm2" / "mm2.pid"

    def config_file(self) -> Path:
        return self.state / "mm2" / "mm2.properties"


def alive(pid: int) -> bool:
    """A live process, not a zombie waiting for its parent (the servers' parent is init, thanks to setsid)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
