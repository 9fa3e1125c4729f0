"""``python -m tests.faults`` (``make faults``): the fault suite; exits 1 when any check fails.

Every figure can be set by a flag or by its environment variable (``FAULTS_RATE``, ``FAULTS_LOAD_SECONDS``,
``FAULTS_DOWN_SECONDS``, ``FAULTS_ONLY``, ...; ``make faults FAULTS_ARGS="--only notify,postgres"``).
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.faults.load import ClueLoad
from tests.faults.phases import FAULTS, Outcome, Run, Timing, run_phase
from tests.faults.servers import PrivateServers
from tests.harness import ROOT, SERVICES, Stack, WebhookRecorder


def arguments(argv: list[str] | None) -> argparse.Namespace:
    def env(name: str, default: str) -> str:
        return os.environ.get(f"FAULTS_{name}", default)

    keys = [f.key for f in FAULTS]
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--rate", type=float, default=float(env("RATE", "50")), help="clues a second (50)")
    parser.add_argument(
        "--load-seconds", type=float, default=float(env("LOAD_SECONDS", "25")), help="load per phase (25)"
    )
    parser.add_argument(
        "--fault-after", type=float, default=float(env("FAULT_AFTER", "5")), help="load before the fault (5)"
    )
    parser.add_argument(
        "--down-seconds", type=float, default=float(env("DOWN_SECONDS", "5")), help="time struck down (5)"
    )
    parser.add_argument(
        "--after", type=float, default=float(env("AFTER", "5")), help="load after the probe, at least (5)"
    )
    parser.add_argument(
        "--only",
        default=env("ONLY", ""),
        help=f"comma-separated phases to run, in this order: {','.join(keys)} (all)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(env("STATE_DIR", str(ROOT / "var" / "faults"))),
        help="the private broker's and database's state, emptied first (var/faults)",
    )
    parser.add_argument("--kafka-port", type=int, default=int(env("KAFKA_PORT", "0")), help="(a free port)")
    parser.add_argument("--pg-port", type=int, default=int(env("PG_PORT", "0")), help="(a free port)")
    parser.add_argument("--seed", type=int, default=int(env("SEED", "0")) or int(time.time()))
    args = parser.parse_args(argv)
    chosen = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(chosen) - set(keys))
    if unknown:
        parser.error(f"unknown phase {', '.join(unknown)}; choose from {', '.join(keys)}")
    args.phases = [f for f in FAULTS if not chosen or f.key in chosen]
    return args


def stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (``timeout``, a CI runner) ends the run like Ctrl-C, so the servers and services it started
    are stopped, not left behind."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    # `kill -USR1 <pid>` prints where every thread is, should a run ever seem stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # Piped into a file or a CI log, rich would wrap the table at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    timing = Timing(
        rate=args.rate,
        load_seconds=args.load_seconds,
        fault_after=args.fault_after,
        down=args.down_seconds,
        after=args.after,
    )
    state = args.state_dir.resolve()
    servers = PrivateServers(state, console, kafka_port=args.kafka_port, pg_port=args.pg_port)
    console.rule("fault suite")
    console.print(
        f"private broker 127.0.0.1:{servers.kafka_port} and PostgreSQL 127.0.0.1:{servers.pg_port} "
        f"in {state}; {timing.rate:g} clues/s, {timing.load_seconds:g} s per phase, "
        f"fault after {timing.fault_after:g} s, down {timing.down:g} s"
    )
    servers.reset()
    outcomes: list[Outcome] = []
    recorder = WebhookRecorder()
    stack: Stack | None = None
    load: ClueLoad | None = None
    try:
        servers.start()
        # The services, the CLI and the checks use the private servers, whatever the caller's environment
        # points at (make exports CLUETRAIL_KAFKA_BOOTSTRAP when given KAFKA_PORT).
        os.environ["CLUETRAIL_KAFKA_BOOTSTRAP"] = servers.bootstrap
        os.environ["CLUETRAIL_DATABASE_URL"] = servers.database_url
        recorder.start()
        workdir = state / "services"
        workdir.mkdir(parents=True, exist_ok=True)
        stack = Stack(workdir, recorder)
        # Spans of thousands of clues would cost the shared cores more than the services themselves.
        stack.env["CLUETRAIL_OTEL_EXPORTER"] = "none"
        stack.mail.start()
        stack.init()
        for name in SERVICES:
            stack.start(name, timeout=timing.ready_timeout)
        console.print(f"services ready; their logs in {workdir}")
        load = ClueLoad(
            stack.url("intake"), rate=timing.rate, give_up_after=timing.give_up_after, seed=args.seed
        )
        load.open()
        run = Run(stack, servers, recorder, load, timing, console)
        auditor = stack.token("auditor", "340000", subject="fault-suite")
        for fault in args.phases:
            console.rule(fault.name)
            outcomes.append(run_phase(run, fault, auditor))
    finally:
        if load is not None:
            load.close()
        if stack is not None:
            stack.stop_all()
        if hasattr(recorder, "_server"):
            recorder.stop()
        servers.stop()
    report(console, outcomes)
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


def report(console: Console, outcomes: list[Outcome]) -> None:
    """The figures of each phase, then every failed check in full."""

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    table = Table(title="faults: recovery and checks (seconds; recovery counted from every service ready)")
    for column in (
        "fault",
        "lasted",
        "probe 202",
        "in ledger",
        "notified",
        "clues 202",
        "pending",
        "retried",
    ):
        table.add_column(column, justify="left" if column == "fault" else "right")
    table.add_column("wait p50/p99/max", justify="right")
    table.add_column("checks")
    for o in outcomes:
        failed = [c.name for c in o.checks if not c.ok]
        table.add_row(
            o.fault.name,
            seconds(o.lasted),
            seconds(o.answered_in),
            seconds(o.recovered_in),
            seconds(o.notified_in),
            f"{o.published + o.pending:,}",
            f"{o.pending:,}",
            f"{o.retried:,}",
            "/".join(seconds(w) for w in o.waits),
            f"[green]all {len(o.checks)} ok[/green]"
            if not failed
            else f"[red]failed: {', '.join(failed)}[/red]",
        )
    console.print(table)
    for o in outcomes:
        for check in o.checks:
            if not check.ok:
                console.print(f"[red bold]{o.fault.name}: {check.name} failed:[/red bold] ", end="")
                console.print(check.detail, markup=False)
    if outcomes and all(o.ok for o in outcomes):
        console.print(f"[green bold]every check of {len(outcomes)} phases passed[/green bold]")
    elif not outcomes:
        console.print("[red bold]no phase ran[/red bold]")


if __name__ == "__main__":
    sys.exit(main())
