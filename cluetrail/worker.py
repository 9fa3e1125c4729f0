"""Several worker processes of one service on one port (``CLUETRAIL_WORKERS`` > 1).

Each worker is a new process that imports its app by name, so ``cluetrail.service.run`` names the service's
``create_app`` and settings class in the environment, and each worker builds its own app — pools,
consumers, relay — from them, as a single process does.

Each worker listens on a socket of its own, all bound to the port with ``SO_REUSEPORT``, and the kernel
spreads new connections over them evenly. uvicorn's own supervisor hands every worker one shared socket
instead: a worker woken for a new connection takes every connection waiting, so a client that opens its
keep-alive connections together (a proxy, a load balancer) had nearly all of them served by one worker, and
a second worker added little.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from fastapi import FastAPI

from cluetrail.logs import configure_logging

FACTORY = "CLUETRAIL_WORKER_FACTORY"
SETTINGS = "CLUETRAIL_WORKER_SETTINGS"
# uvicorn's exit status for a server that never started (an app that failed at start-up): starting the
# worker again would fail the same way.
STARTUP_FAILURE = 3

log = logging.getLogger(__name__)


def _named(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def app() -> FastAPI:
    configure_logging()
    settings = _named(os.environ[SETTINGS])()
    created: FastAPI = _named(os.environ[FACTORY])(settings)
    return created


def shared_port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` in the port's ``SO_REUSEPORT`` group (not yet listening)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _refuse_a_taken_port(host: str, port: int) -> None:
    """Stop here when another program listens on the port: a plain bind says so, where a bind into the
    ``SO_REUSEPORT`` group would join another service of the same user and share its connections."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _serve(options: dict[str, Any]) -> None:
    """One worker: uvicorn serving the service's app on a socket of its own."""
    config = uvicorn.Config("cluetrail.worker:app", factory=True, **options)
    server = uvicorn.Server(config)
    server.run(sockets=[shared_port_socket(config.host, config.port)])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def supervise(workers: int, options: dict[str, Any]) -> None:
    """Run ``workers`` worker processes with uvicorn ``options`` until SIGTERM or SIGINT, then stop them
    (each finishes its in-flight work); a worker that dies is replaced, unless it failed to start."""
    host, port = options["host"], options["port"]
    _refuse_a_taken_port(host, port)
    # Held, never listening, until the end: the port stays this service's while a worker is replaced.
    holder = shared_port_socket(host, port)
    spawn = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    failed = False

    def stop(signum: int, _: object) -> None:
        log.info("received %s, stopping the workers", signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)

    def start() -> BaseProcess:
        process = spawn.Process(target=_serve, args=(options,), name="cluetrail-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    log.info("started %d workers on %s:%s: %s", workers, host, port, [p.pid for p in processes])
    try:
        while not stopping.wait(0.5):
            for index, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("worker %s failed to start; stopping the others", process.pid)
                    failed = True
                    stopping.set()
                    break
                replacement = start()
                log.warning(
                    "worker %s exited (%s); started %s", process.pid, process.exitcode, replacement.pid
                )
                processes[index] = replacement
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        holder.close()
    if failed:
        sys.exit(STARTUP_FAILURE)
