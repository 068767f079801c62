"""`skewless stack up|down|status`: the local Kafka and Cassandra, no Docker needed.

Optional services (`stack up --with prometheus`) start only when asked for; `down` stops them
too, and `status` lists them when they run.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterable

import click

from skewless.errors import SkewlessError
from skewless.devstack import StackError
from skewless.devstack.cassandra import Cassandra
from skewless.devstack.kafka import Kafka
from skewless.devstack.process import HOST, Service, StartupError, ensure_ports_free, wait_until_answering
from skewless.devstack.prometheus import Prometheus
from skewless.settings import load_settings, writable_home

OPTIONAL = {"prometheus": Prometheus}


def _services(optional: Iterable[str] = OPTIONAL) -> list[Service]:
    """The core services, then the optional ones named in `optional` (default: all of them)."""
    settings = load_settings()
    return [Kafka(settings), Cassandra(settings), *(OPTIONAL[name](settings) for name in optional)]


def service_pid(name: str) -> int | None:
    """The pid of the running stack service `name` (kafka, cassandra, prometheus), by its pid file; None when down.

    For fault-injection tests, which kill a service with SIGKILL and then run `stack up`.
    """
    for service in _services():
        if service.name == name:
            return service.process.pid()
    raise StackError(f"no stack service {name!r}; known: {', '.join(s.name for s in _services())}")


def _say(message: str) -> None:
    click.echo(message, err=True)


def _progress(service: Service) -> Callable[[float], None]:
    """A waiting line: rewritten in place on a terminal, one line per 10 s in a log."""
    interactive = sys.stderr.isatty()
    last_line = -1

    def report(elapsed: float) -> None:
        nonlocal last_line
        text = f"waiting for {service.name} on {HOST}:{service.port}... {elapsed:.0f}s"
        if interactive:
            click.echo(f"\r{text}", nl=False, err=True)
        elif int(elapsed) // 10 > last_line:
            last_line = int(elapsed) // 10
            _say(text)

    return report


@click.group()
def stack() -> None:
    """Run the local Kafka broker and Cassandra node as JVM processes on 127.0.0.1."""


@stack.command()
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds to wait for each service to answer (default: kafka 60, cassandra 120, prometheus 60).",
)
@click.option(
    "--with",
    "optional",
    multiple=True,
    type=click.Choice(sorted(OPTIONAL)),
    help="Also run this optional service (repeatable): prometheus scrapes the jobs and `skewless serve`.",
)
def up(timeout: float | None, optional: tuple[str, ...]) -> None:
    """Start Kafka and Cassandra (and the services given with --with) unless running, and wait until they answer."""
    try:
        services = _services(dict.fromkeys(optional))
        writable_home(services[0].settings)
        to_start: list[Service] = []
        to_wait: list[tuple[Service, int, float | None]] = []  # service, pid, spawn time
        for service in services:
            pid = service.process.pid()
            if pid is None:
                to_start.append(service)
            elif service.answers():
                reloaded = ", configuration reloaded" if service.refresh(pid) else ""
                _say(f"{service.name}: already running (pid {pid}, {HOST}:{service.port}{reloaded})")
            else:
                _say(f"{service.name}: pid {pid} is still starting")
                to_wait.append((service, pid, None))
        # Check every port before spawning anything: a taken port must not leave half a
        # stack behind.
        for service in to_start:
            ensure_ports_free(service.ports)
        # Spawn all, then wait: measured here, the two JVMs answer sooner side by side
        # than one after the other, even on two cores.
        for service in to_start:
            pid = service.launch()
            _say(f"{service.name}: started (pid {pid}), log {service.process.log_file}")
            to_wait.append((service, pid, time.monotonic()))
        failures: list[str] = []
        for service, pid, spawned_at in to_wait:
            try:
                _await(service, pid, timeout or service.start_timeout, spawned_at)
            except StartupError as exc:
                failures.append(str(exc))  # report it, and still wait for the others
        if failures:
            raise StackError("\n\n".join(failures))
    except SkewlessError as exc:
        raise click.ClickException(str(exc)) from exc


def _await(service: Service, pid: int, timeout: float, spawned_at: float | None) -> None:
    try:
        wait_until_answering(service, pid, timeout, _progress(service))
    except StartupError:
        if sys.stderr.isatty():
            _say("")
        # Do not leave a hung JVM holding the ports; the log tail says why it failed.
        service.process.stop(service.stop_grace)
        raise
    if sys.stderr.isatty():
        _say("")
    took = "" if spawned_at is None else f", {time.monotonic() - spawned_at:.1f}s after start"
    _say(f"{service.name}: answering on {HOST}:{service.port} (pid {pid}{took})")


@stack.command()
@click.option("--purge", is_flag=True, help="Also delete the services' data and generated config.")
def down(purge: bool) -> None:
    """Stop the Kafka, Cassandra and optional services this stack started (found by pid file)."""
    try:
        for service in reversed(_services()):
            stopped = service.process.stop(service.stop_grace)
            if stopped is None:
                _say(f"{service.name}: not running")
            else:
                how = f"killed after {service.stop_grace:.0f}s" if stopped.forced else "stopped"
                _say(f"{service.name}: {how} (pid {stopped.pid})")
            if purge and service.state_dir.exists():
                shutil.rmtree(service.state_dir)
                _say(f"{service.name}: deleted {service.state_dir}")
    except SkewlessError as exc:
        raise click.ClickException(str(exc)) from exc


@stack.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show each service's state; exit 0 only if all are running and answering.

    Optional services are shown, and counted, only while they run."""
    try:
        services = [s for s in _services() if s.name not in OPTIONAL or s.process.pid() is not None]
    except SkewlessError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [("service", "state", "pid", "port", "answering", "")]
    all_up = True
    for service in services:
        pid = service.process.pid()
        answering = service.answers()
        note = "port held by a process skewless did not start" if pid is None and answering else ""
        all_up = all_up and pid is not None and answering
        state = "running" if pid is not None else "stopped"
        rows.append((service.name, state, str(pid or "-"), str(service.port), "yes" if answering else "no", note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    ctx.exit(0 if all_up else 1)
