"""The suite's own Kafka broker and PostgreSQL server (``tests.servers``), under ``var/faults`` by default."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from tests.servers import PrivateKafka, PrivatePostgres


@dataclass
class PrivateServers:
    """One broker and one database server under ``state``; every method blocks until it is done."""

    state: Path
    console: Console
    kafka_port: int = 0
    pg_port: int = 0
    kafka: PrivateKafka = field(init=False)
    postgres: PrivatePostgres = field(init=False)

    def __post_init__(self) -> None:
        self.kafka = PrivateKafka(state=self.state, say=self._say, port=self.kafka_port)
        self.postgres = PrivatePostgres(state=self.state, say=self._say, port=self.pg_port)
        self.kafka_port, self.pg_port = self.kafka.port, self.postgres.port

    def _say(self, line: str) -> None:
        self.console.print(f"  {line}", style="dim", markup=False, highlight=False)

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap

    @property
    def database_url(self) -> str:
        return self.postgres.database_url

    def reset(self) -> None:
        """Stop whatever an earlier run left running here, and start from an empty state directory."""
        self.stop()
        shutil.rmtree(self.state, ignore_errors=True)
        self.state.mkdir(parents=True)

    def start(self) -> None:
        self.kafka.start()
        self.postgres.start()

    def stop(self) -> None:
        """Stop both servers, the broker first (nothing is left to read the database for)."""
        errors = []
        for server in (self.kafka, self.postgres):
            try:
                server.stop()
            except RuntimeError as exc:
                errors.append(str(exc))
        if errors:
            raise RuntimeError("; ".join(errors))

    def start_kafka(self) -> None:
        self.kafka.start()

    def stop_kafka(self) -> None:
        """The script's stop: SIGTERM, a controlled shutdown, SIGKILL only after 30 s."""
        self.kafka.stop()

    def kill_kafka(self) -> None:
        self.kafka.kill()

    def start_postgres(self) -> None:
        self.postgres.start()

    def stop_postgres(self) -> None:
        """The script's stop: a fast shutdown (open sessions are ended, their transactions rolled back)."""
        self.postgres.stop()
