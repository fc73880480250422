"""The ``ontrack`` command: one entry point for every process and chore.

Django is set up only inside the subcommand that needs it, so ``ontrack --help`` answers at
once. ``ontrack demo`` supervises the other processes as children: their output goes to
``$ONTRACK_HOME/logs/``, one that dies is started again after a back-off, and the console
shows one line per event and, last, where to go and how to sign in.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("ontrack.cli")


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ontrack.settings")
    import django

    django.setup()


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _migrate(quiet: bool = False) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        if not quiet:
            _console().print("Database is up to date.")
        return
    with _console().status(f"Applying {len(plan)} migration(s)"):
        call_command("migrate", interactive=False, verbosity=0)
    if not quiet:
        _console().print(f"Applied {len(plan)} migration(s).")


def cmd_migrate(args: argparse.Namespace) -> int:
    _django_setup()
    _migrate()
    return 0


def _seed(participants: int, seed_value: int, offices: int, *, into_existing: bool = False) -> None:
    """Seed demo data; a database holding other data is refused (exit 2) unless
    ``into_existing``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ontrack.seed import SeedRefused, seed

    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task("Seeding participants", total=participants)
            result = seed(
                participants=participants,
                seed_value=seed_value,
                offices=offices,
                into_existing=into_existing,
                progress=lambda n: progress.advance(task, n),
            )
    except SeedRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    _console().print(
        f"Seeded {result.participants} participants across {result.offices} offices "
        f"({result.staff} staff accounts)."
    )


def cmd_seed(args: argparse.Namespace) -> int:
    """Exit 2, changing nothing, on a database that holds data other than demo data,
    unless ``--into-existing``."""
    _django_setup()
    from django.conf import settings

    from ontrack.seed import DEMO_PASSWORD_FILE, demo_password

    _migrate(quiet=True)
    _seed(args.participants, args.seed, args.offices, into_existing=args.into_existing)
    _console().print(
        f"Demo staff (officer1, supervisor, operator, admin, auditor...) sign in with the "
        f"password {demo_password()}\n(this install's own, kept in "
        f"{_shown_path(Path(settings.ONTRACK_HOME) / DEMO_PASSWORD_FILE)})",
        soft_wrap=True,
    )
    return 0


def cmd_createuser(args: argparse.Namespace) -> int:
    _django_setup()
    from django.core.exceptions import ValidationError

    from ontrack.accounts.models import Office, Role
    from ontrack.accounts.services import user_create

    office = None
    if args.office:
        office = Office.objects.filter(name__iexact=args.office).first()
        if office is None:
            names = ", ".join(Office.objects.values_list("name", flat=True)) or "none yet"
            print(f"error: no office named {args.office!r} (offices: {names})", file=sys.stderr)
            return 2
    password = os.environ.get("ONTRACK_PASSWORD") or getpass.getpass("Password: ")
    try:
        user = user_create(
            username=args.username,
            password=password,
            role=Role(args.role),
            office=office,
            email=args.email or "",
        )
    except (ValidationError, ValueError) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        for message in messages:
            print(f"error: {message}", file=sys.stderr)
        return 2
    print(f"Created {user.get_role_display().lower()} {user.username}.")
    return 0


def cmd_createtoken(args: argparse.Namespace) -> int:
    """Print a new API token for a staff member; only its digest is stored."""
    _django_setup()
    from ontrack.accounts.models import User
    from ontrack.accounts.services import api_token_create

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        print(f"error: no active staff member {args.username!r}", file=sys.stderr)
        return 2
    token, secret = api_token_create(user=user, name=args.name)
    print(f"API token {token.name!r} for {user.username} (shown once, keep it secret):")
    print(secret)
    return 0


def cmd_totp(args: argparse.Namespace) -> int:
    """Print a demo login's current authenticator code (the seeded accounts only: any other
    account's key stays in its owner's app)."""
    _django_setup()
    from ontrack.seed import demo_totp_code

    current = demo_totp_code(args.username)
    if current is None:
        print(
            f"error: {args.username!r} is not one of the demo's seeded logins; other staff "
            "read their code from their own authenticator app",
            file=sys.stderr,
        )
        return 2
    code, left = current
    print(f"{code}  (current for {left} more seconds; each code signs in once)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Exit 0: every row good; 1: some rows bad (the good ones imported, unless a dry run);
    2: the file could not be read at all. Runs here, not in the worker, and has no size
    limit; like the console's imports it writes in short transactions, so the running
    processes keep working beside it."""
    _django_setup()
    from django.conf import settings
    from rich.progress import Progress

    from ontrack.accounts.actors import SystemActor
    from ontrack.accounts.services import program_get_or_create
    from ontrack.participants.importer import caseload_import

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    program = program_get_or_create(name=args.program or settings.ONTRACK_DEFAULT_PROGRAM)
    total = max(text.count("\n") - 1, 1)
    with Progress(transient=True) as progress:
        task = progress.add_task("Dry run" if args.dry_run else "Importing", total=total)
        report = caseload_import(
            text,
            program=program,
            actor=SystemActor("caseload import from the command line"),
            dry_run=args.dry_run,
            progress=lambda n: progress.update(task, completed=n),
        )
    if report.file_error:
        print(f"error: {path}: {report.file_error}", file=sys.stderr)
        return 2
    for error in report.errors:
        print(f"{path}:{error.line}: {error.case_number or '-'}: {error.reason}")
    verb = "would be imported" if args.dry_run else "imported"
    print(
        f"{report.rows} rows: {report.good} {verb}, {report.already_enrolled} already enrolled, "
        f"{len(report.errors)} with errors."
    )
    return 1 if report.errors else 0


def _uvicorn_log_config(access_log: bool) -> dict[str, Any]:
    """Uvicorn's loggers in ontrack's one-line format. Its own INFO lines (started, waiting
    for startup, shutting down, finished...) are left out: ``ontrack.web`` says "web
    started" and "web stopped" once each, and uvicorn's warnings and errors still show."""
    handler = {"class": "logging.StreamHandler", "formatter": "line"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": "ontrack.logging.OneLineFormatter"}},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {
                "level": "INFO" if access_log else "WARNING",
                "handlers": ["stderr"],
                "propagate": False,
            },
        },
    }


def cmd_serve(args: argparse.Namespace) -> int:
    """The web app (console, portal, API) under uvicorn; ``ontrack.asgi`` beats its
    heartbeat between the server's lifespan startup and shutdown."""
    import logging.config

    import uvicorn

    _django_setup()
    from ontrack.static_build import static_files_collect

    static_files_collect()  # before the app starts: whitenoise lists the files it serves once
    behind_proxy = os.environ.get("ONTRACK_BEHIND_TLS_PROXY", "").strip().lower() in {
        "1", "true", "yes", "on"
    }  # fmt: skip
    log_config = _uvicorn_log_config(not args.no_access_log)
    logging.config.dictConfig(log_config)
    logger.info("web listening", extra={"url": f"http://{args.host}:{args.port}/"})
    uvicorn.run(
        "ontrack.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config,
        access_log=not args.no_access_log,
        lifespan="on",
        # Trust X-Forwarded-For/-Proto only behind a proxy we were told of: otherwise any
        # client (or one on this host) could rotate addresses past the sign-in lock-out and
        # write a false address into the access log.
        proxy_headers=behind_proxy,
        forwarded_allow_ips=os.environ.get("ONTRACK_TRUSTED_PROXIES", "127.0.0.1"),
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Background and periodic jobs (Huey consumer) and the outbox sender, in one process.

    Every app's jobs are loaded first (``operations.jobs``). The sender runs in a thread
    beside the consumer; SIGTERM or SIGINT stops the consumer (Huey finishes the tasks in
    hand) and then the sender, which stops between two messages so that nothing is left
    half-recorded beyond what the outbox reconciles on restart. Each of the two beats its
    own heartbeat, so ``ontrack status`` shows a sender that died inside a living worker."""
    _django_setup()
    import threading

    from django.conf import settings
    from django.db import connection

    from ontrack.messaging.outbox import Sender
    from ontrack.operations.heartbeats import HeartbeatThread
    from ontrack.operations.jobs import ONE_OFF, PERIODIC, job_consumer, jobs_load, process_name
    from ontrack.operations.models import ProcessKind

    jobs_load()
    if args.list:
        _print_jobs()
        return 0
    logger.info(
        "worker starting",
        extra={
            "periodic_jobs": len(PERIODIC),
            "one_off_jobs": len(ONE_OFF),
            "sender": True,
            # Which stores it works on, so that a misconfigured machine shows in its first line.
            "database": connection.vendor,
            "queue": "redis" if settings.REDIS_URL else "sqlite",
        },
    )
    stop = threading.Event()
    sender = Sender(stop)
    sender_thread = threading.Thread(target=sender.run, name="outbox-sender", daemon=True)
    sender_beat = HeartbeatThread(
        ProcessKind.SENDER,
        process_name(),
        details=lambda: {"sent": sender.sent, "alive": sender_thread.is_alive()},
    )
    sender_thread.start()
    with sender_beat:
        if args.no_jobs:
            signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
            signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
            while not stop.wait(0.5):
                pass
        else:
            consumer = job_consumer(workers=args.workers)
            worker_beat = HeartbeatThread(
                ProcessKind.WORKER,
                process_name(),
                details=lambda: {"periodic_jobs": len(PERIODIC), "threads": args.workers},
            )
            try:
                with worker_beat:
                    consumer.run()
            finally:
                stop.set()
        sender_thread.join(timeout=30)
    logger.info("worker stopped", extra={"sent": sender.sent})
    return 0


def _print_jobs() -> None:
    from rich.table import Table

    from ontrack.operations.jobs import ONE_OFF, PERIODIC

    table = Table(title=f"{len(PERIODIC)} periodic jobs", title_justify="left")
    table.add_column("job")
    table.add_column("schedule")
    table.add_column("what it does")
    for name in sorted(PERIODIC):
        table.add_row(name, PERIODIC[name].schedule, PERIODIC[name].doc)
    _console().print(table)
    table = Table(title=f"{len(ONE_OFF)} one-off jobs", title_justify="left")
    table.add_column("job")
    table.add_column("what it does")
    for name in sorted(ONE_OFF):
        table.add_row(name, ONE_OFF[name].doc)
    _console().print(table)


def cmd_jobs(args: argparse.Namespace) -> int:
    """``ontrack jobs list`` (each periodic job, its schedule and last run) and
    ``ontrack jobs run NAME`` (run one now, here, recorded like a scheduled run)."""
    _django_setup()
    from ontrack.operations.jobs import PERIODIC, job_run_now, jobs_load
    from ontrack.operations.models import JobOutcome

    jobs_load()
    if args.action == "list":
        _print_job_runs()
        return 0
    if args.name not in PERIODIC:
        print(f"error: no periodic job named {args.name!r}", file=sys.stderr)
        print("jobs: " + ", ".join(sorted(PERIODIC)), file=sys.stderr)
        return 2
    run = job_run_now(args.name)
    seconds = (
        (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at
        else 0
    )
    print(
        f"{run.job}: {run.get_outcome_display().lower()} in {seconds:.1f} s  {run.result}".rstrip()
    )
    return 0 if run.outcome == JobOutcome.DONE else 1


def _print_job_runs() -> None:
    from django.utils import timezone
    from rich.table import Table

    from ontrack.operations.status import ago, jobs_state

    now = timezone.now()
    table = Table()
    for column in ("job", "schedule", "last run", "outcome", "result"):
        table.add_column(column)
    for state in jobs_state():
        last = state.last
        table.add_row(
            state.name,
            state.schedule,
            ago(now, last.claimed_at) if last else "never",
            last.get_outcome_display() if last else "",
            last.result if last else "",
        )
    _console().print(table)


def cmd_status(args: argparse.Namespace) -> int:
    """What each process last said, how the outbox and the alerts are keeping up, and each
    job's last run. Exit 0 when a worker is alive and every check passes, else 1."""
    _django_setup()
    from rich.table import Table

    from ontrack.operations.jobs import jobs_load
    from ontrack.operations.status import ago, system_status

    jobs_load()
    status = system_status()
    console = _console()
    table = Table(title="Processes", title_justify="left")
    for column in ("process", "instance", "state", "last beat", "up since", "details"):
        table.add_column(column)
    if not status.processes:
        console.print("[bold red]No process has ever reported.[/bold red]")
    for process in status.processes:
        colour = {"running": "green", "silent": "red", "stopped": "dim"}[process.state]
        table.add_row(
            process.label,
            process.instance,
            f"[{colour}]{process.state}[/{colour}]",
            ago(status.now, process.beat_at),
            ago(status.now, process.started_at),
            " ".join(f"{key}={value}" for key, value in process.details.items()),
        )
    console.print(table)
    checks = Table(title="Checks", title_justify="left")
    for column in ("check", "value", ""):
        checks.add_column(column)
    if status.worker_missing:
        checks.add_row(
            "Job worker", f"last beat {ago(status.now, status.worker_last_beat)}", "[red]late[/red]"
        )
    for check in status.checks:
        verdict = "[green]ok[/green]" if check.ok else "[red]late[/red]"
        checks.add_row(check.label, f"{check.value} {check.detail}".strip(), verdict)
    console.print(checks)
    _print_job_runs()
    return 0 if status.ok else 1


def cmd_manage(args: argparse.Namespace) -> int:
    """Any Django management command, e.g. ``ontrack manage changepassword alice``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ontrack.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ontrack manage", *args.rest])
    return 0


_OFF = -1


def _port_or_off(value: str) -> int:
    """A port number, or ``off`` (returned as -1) to leave that server out."""
    return _OFF if value.lower() in {"off", "none", "no"} else int(value)


def cmd_gateway(args: argparse.Namespace) -> int:
    """The device gateway: GT06, Teltonika, OsmAnd HTTP, MQTT, H02, Watch, TK103, Queclink,
    Meitrack and Suntech (see tracking.gateway)."""
    _django_setup()
    from ontrack.tracking.gateway.core import GatewayConfig
    from ontrack.tracking.gateway.process import run_gateway

    config = GatewayConfig.from_settings()
    overrides = {
        "host": args.host,
        "gt06_port": args.gt06_port,
        "teltonika_port": args.teltonika_port,
        "osmand_port": args.osmand_port,
        "h02_port": args.h02_port,
        "watch_port": args.watch_port,
        "tk103_port": args.tk103_port,
        "queclink_port": args.queclink_port,
        "meitrack_port": args.meitrack_port,
        "suntech_port": args.suntech_port,
        "mqtt_port": args.mqtt_port,
        "mqtt_client_id": args.mqtt_client_id,
        "idle_timeout": args.idle_timeout,
        "handshake_timeout": args.handshake_timeout,
        "db_timeout": args.db_timeout,
        "stats_interval": args.stats_interval,
        "retry_interval": args.retry_interval,
        "workers": args.workers,
        "spool_dir": Path(args.spool_dir) if args.spool_dir else None,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, None if value == _OFF else value)
    if args.mqtt_host is not None:
        config.mqtt_host = None if args.mqtt_host.lower() == "off" else args.mqtt_host
    if args.strict_crc:
        config.strict_crc = True
    return run_gateway(config)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulated wearers reporting over the real protocols to a running gateway. A script
    names its devices and needs no database: it runs without Django's setup, which starts
    it in a tenth of the time (the system tests start one for each scenario); the random
    wearers are the devices registered in the database."""
    if args.script:
        import logging.config

        from ontrack.logging import logging_config
        from ontrack.tracking.simulator.script import run_script

        logging.config.dictConfig(logging_config(os.environ.get("ONTRACK_LOG_LEVEL", "INFO")))
        return run_script(args.script, host=args.host, port=args.port, pace_s=args.script_pace)
    _django_setup()
    from ontrack.tracking.simulator.wearers import SimulatorOptions, run_simulator

    return run_simulator(
        SimulatorOptions(
            devices=args.devices,
            protocol=args.protocol,
            host=args.host,
            port=args.port,
            mqtt_host=None if args.mqtt_host.lower() == "off" else args.mqtt_host,
            mqtt_port=args.mqtt_port,
            ports={
                name: getattr(args, f"{name}_port")
                for name in _GATEWAY_PORTS
                if getattr(args, f"{name}_port")
            },
            rate=args.rate,
            duration=args.duration,
            seed=args.seed,
        )
    )


def _die_with_parent() -> None:
    """Ask Linux to stop a demo child when the demo itself dies, even by kill -9, so that no
    orphaned server keeps holding the port. Elsewhere this is a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _child(*argv: str) -> list[str]:
    return [sys.executable, "-m", "ontrack.cli", *argv]


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_answers(host: str, port: int) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own http URL)
            return bool(response.status == 200)
    except OSError:
        return False


# The gateway's TCP servers and their usual ports (``ontrack gateway --<name>-port``).
_GATEWAY_PORTS = {"gt06": 5023, "teltonika": 5027, "osmand": 5055, "h02": 5013, "watch": 5093,
                  "tk103": 5001, "queclink": 5004, "meitrack": 5020, "suntech": 5011}  # fmt: skip


def _demo_gateway_ports(args: argparse.Namespace) -> dict[str, int]:
    """The gateway's port per protocol: the one asked for, else the usual one, else (when
    another demo or gateway holds it) a free one. The simulator is told the same ports, so a
    demo never feeds its wearers to another demo's gateway."""
    ports = {}
    for name, usual in _GATEWAY_PORTS.items():
        asked = getattr(args, f"{name}_port")
        ports[name] = asked or (usual if _port_free(usual) else _free_port())
    return ports


def _demo_commands(
    args: argparse.Namespace, ports: dict[str, int], mqtt_host: str | None
) -> dict[str, list[str]]:
    """The web app, the worker, the gateway and (with seeded devices) a simulator of them."""
    from ontrack.tracking.services import device_directory

    port_flags = [flag for name, port in ports.items() for flag in (f"--{name}-port", str(port))]
    mqtt_flags = ["--mqtt-host", mqtt_host or "off"]
    commands = {
        "web": _child("serve", "--host", args.host, "--port", str(args.port)),
        "worker": _child("worker"),
        "gateway": _child(
            "gateway", "--host", "127.0.0.1", "--stats-interval", "30", *port_flags, *mqtt_flags
        ),
    }
    if device_directory() and args.simulated_devices > 0:
        commands["simulator"] = _child(
            "simulate", "--protocol", "all", "--devices", str(args.simulated_devices),
            "--rate", "30", "--seed", str(args.seed), *port_flags, *mqtt_flags,
        )  # fmt: skip
    return commands


def _shown_path(path: Path) -> str:
    """``var/logs/web.log`` when under the current folder, else the absolute path."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Back-off before a dead demo child is started again: first wait, ceiling, and how long a
# child must have run for its next death to start from the first wait again.
_RESTART_FIRST_S = 1.0
_RESTART_MAX_S = 30.0
_RESTART_RESET_S = 60.0
_ERROR_MARKERS = (" ERROR ", " CRITICAL ", "ERROR:", "Traceback (most recent call last)")


class _DemoChild:
    """One process of the demo: how to start it, its log, and its restart back-off."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name, self.argv, self.log = name, argv, log
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.delay = _RESTART_FIRST_S
        self.restart_at: float | None = None
        self.read_to = 0  # how far its log has been scanned for errors
        log.write_bytes(b"")


class _DemoSupervisor:
    """Starts the demo's children with their output in ``$ONTRACK_HOME/logs/``, restarts
    any that dies, and keeps the console to one line per event: started, exited and
    restarting, an error line from a log, stopped."""

    def __init__(self, console: Any, logs: Path) -> None:
        self.console = console
        self.logs = logs
        self.children: dict[str, _DemoChild] = {}

    def say(self, name: str, text: str, style: str = "") -> None:
        line = f"{name:<10}{text}"
        self.console.print(
            f"[{style}]{line}[/{style}]" if style else line, highlight=False, soft_wrap=True
        )

    def add(self, name: str, argv: list[str]) -> _DemoChild:
        self.children[name] = _DemoChild(name, argv, self.logs / f"{name}.log")
        return self.children[name]

    def start(self, child: _DemoChild) -> None:
        # Its own process group: Ctrl-C reaches the demo alone, which then stops each child
        # once, in order. PR_SET_PDEATHSIG still stops them if the demo itself is killed.
        with child.log.open("ab") as out:
            child.process = subprocess.Popen(
                child.argv,
                env=os.environ.copy(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                process_group=0,
            )
        child.started = time.monotonic()
        child.restart_at = None
        self.say(child.name, f"started (pid {child.process.pid}), log: {_shown_path(child.log)}")

    def tick(self) -> None:
        """Notice children that died, start again those whose back-off is over, and show
        new error lines from the logs."""
        now = time.monotonic()
        for child in self.children.values():
            if child.process is None:
                continue
            if child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                if now - child.started >= _RESTART_RESET_S:
                    child.delay = _RESTART_FIRST_S
                self.say(
                    child.name,
                    f"exited with code {code}; restarting in {child.delay:g} s",
                    style="bold red",
                )
                child.restart_at = now + child.delay
                child.delay = min(child.delay * 2, _RESTART_MAX_S)
            elif now >= child.restart_at:
                self.start(child)
        for child in self.children.values():
            self._show_errors(child)

    def _show_errors(self, child: _DemoChild, most: int = 3) -> None:
        try:
            with child.log.open("rb") as log:
                log.seek(child.read_to)
                chunk = log.read(1_000_000)
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        child.read_to += complete
        lines = chunk[:complete].decode("utf-8", "replace").splitlines()
        errors = [line for line in lines if any(mark in line for mark in _ERROR_MARKERS)]
        for line in errors[:most]:
            self.say(child.name, line[:200], style="red")
        if len(errors) > most:
            self.say(child.name, f"... {len(errors) - most} more in {_shown_path(child.log)}")

    def stop(self) -> None:
        """Stop the simulator first (so the gateway does not see its devices vanish
        mid-frame), then the rest together; one line each.

        Each gets SIGINT, as from Ctrl-C in its own terminal: that is Huey's graceful stop
        (SIGTERM makes it abandon the jobs in hand, and each then fails with a KeyError
        when it finishes), and every other child treats the two alike."""
        running = [c for c in self.children.values() if c.process is not None]
        first = [c for c in running if c.name == "simulator"]
        for group in (first, [c for c in running if c.name != "simulator"]):
            for child in group:
                assert child.process is not None
                if child.process.poll() is None:
                    child.process.send_signal(signal.SIGINT)
            for child in group:
                assert child.process is not None
                try:
                    code = child.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    code = child.process.wait()
                    self.say(child.name, "killed: it did not stop within 30 s", style="red")
                    continue
                # A child may re-raise the signal it handled (uvicorn does): still clean.
                if code in (0, -signal.SIGINT, -signal.SIGTERM) or child.restart_at is not None:
                    self.say(child.name, "stopped")
                else:
                    self.say(child.name, f"stopped with code {code}, see {_shown_path(child.log)}")


def _demo_logging(logs: Path) -> None:
    """The demo's own log lines (the seed's, mostly) go to ``logs/demo.log``; the console
    keeps warnings and errors."""
    from ontrack.logging import OneLineFormatter

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    to_file = logging.FileHandler(logs / "demo.log", mode="w", encoding="utf-8")
    to_console = logging.StreamHandler()
    to_console.setLevel(logging.WARNING)
    for handler in (to_file, to_console):
        handler.setFormatter(OneLineFormatter())
        root.addHandler(handler)


def _demo_portal_sign_in() -> tuple[str, str] | None:
    """(case number, phone number) of a participant who can sign in to the portal with the
    demo PIN right now: an open case with PIN 2468 (README, "Participant portal"), not
    opted out of texts (the code goes by text), whose number signs in as them."""
    from django.contrib.auth.hashers import check_password

    from ontrack.messaging.services import is_opted_out
    from ontrack.participants.models import Status
    from ontrack.participants.queries import participant_for_number
    from ontrack.portal.demo_data import DEMO_PIN
    from ontrack.portal.models import PortalAccess

    accesses = (
        PortalAccess.objects.exclude(pin_hash="")
        .exclude(participant__status=Status.CLOSED)
        .filter(locked_until__isnull=True)
        .select_related("participant")
        .order_by("participant__case_number")[:20]
    )
    for access in accesses:
        participant = access.participant
        phone = participant.phones.order_by("-is_primary", "id").first()
        if phone is None or is_opted_out(participant.pk):
            continue
        if participant_for_number(phone.number) != participant:
            continue
        if check_password(DEMO_PIN, access.pin_hash):
            return participant.case_number, phone.number
    return None


def _demo_second_factor_lines() -> list[str]:
    """How the demo's staff pass the second factor: the current code from `ontrack totp`,
    or the seeded logins' shared key in an authenticator app."""
    from base64 import b32encode
    from binascii import unhexlify

    from ontrack.seed import demo_authenticator_key

    key = demo_authenticator_key()
    if key is None:
        return ["  then set up an authenticator app when the sign-in asks for a second factor"]
    text = b32encode(unhexlify(key)).decode()
    grouped = " ".join(text[i : i + 4] for i in range(0, len(text), 4))
    return [
        "  then the second factor, a 6-digit code: in another terminal",
        "  uv run ontrack totp officer1 (any demo login), or add this key to an authenticator",
        f"  app once (it serves every demo login; time-based, 6 digits): {grouped}",
    ]


def _demo_block(console: Any, url: str, worker_log: Path) -> None:
    """What to open and how to sign in: the last thing the console shows."""
    from ontrack.portal.demo_data import DEMO_PIN
    from ontrack.seed import demo_password

    logins = [
        ("officer1", "case officer (own caseload)"),
        ("supervisor", "supervisor (whole office)"),
        ("operator", "monitoring operator (all offices; triages alerts)"),
        ("admin", "administrator (also /admin/)"),
        ("auditor", "auditor (access log only)"),
    ]
    lines = [
        "",
        f"[bold]ontrack demo is running at {url}[/bold]  (API docs: {url}api/docs)",
        "",
        f"Staff sign-in at {url}login/  (password for every account: {demo_password()})",
        *(f"  {username:<12}{role}" for username, role in logins),
        *_demo_second_factor_lines(),
        "",
        f"Participant portal at {url}me/",
    ]
    portal = _demo_portal_sign_in()
    if portal is None:
        lines.append("  no participant has the demo PIN (see the README's portal section)")
    else:
        case_number, phone = portal
        log = _shown_path(worker_log)
        lines += [
            f"  phone number {phone} (case {case_number}), then PIN {DEMO_PIN}",
            f"  the 6-digit code is 'texted' by the console provider into {log}:",
            f'  grep "sms to {phone}" {log}',
        ]
    lines += ["", "Status: ontrack status.  Press Ctrl-C to stop.", ""]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def cmd_demo(args: argparse.Namespace) -> int:
    """Migrate, seed when empty, start every process, print where to go and how to sign in.

    The children (web, worker, gateway, simulator) write to ``$ONTRACK_HOME/logs/``; one
    that dies is started again after a back-off, and the console says so. The simulator
    starts once the gateway answers, so its wearers' first reports are not refused."""
    # The demo is served over plain HTTP on this machine, where Secure cookies would be
    # dropped by some browsers; production keeps the default (secure) setting.
    os.environ.setdefault("ONTRACK_SECURE_COOKIES", "0")
    _django_setup()
    from django.conf import settings

    from ontrack.participants.models import Participant
    from ontrack.static_build import static_files_collect

    console = _console()
    logs = Path(settings.ONTRACK_HOME) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    _demo_logging(logs)
    if not _port_free(args.port):
        console.print(f"[bold red]Port {args.port} is in use; pick another with --port.[/]")
        return 2
    _migrate(quiet=True)
    static_files_collect()
    if not Participant.objects.exists():
        _seed(args.participants, args.seed, offices=3)
    ports = _demo_gateway_ports(args)
    mqtt_host = None if args.mqtt_host.lower() == "off" else args.mqtt_host
    if mqtt_host and not _port_answers(mqtt_host, 1883):
        mqtt_host = None
    commands = _demo_commands(args, ports, mqtt_host)
    from django.db import connection

    connection.close()  # the children have their own; this process only supervises

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Before any child starts: a demo launched with SIGINT ignored (a background job of a
    # script) would otherwise pass that on, and its children would not hear the stop.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor = _DemoSupervisor(console, logs)
    for name, argv in commands.items():
        supervisor.add(name, argv)
    for name in ("web", "worker", "gateway"):
        supervisor.start(supervisor.children[name])
    gateway_ports = ", ".join(f"{name} {port}" for name, port in ports.items())
    supervisor.say("gateway", f"ports {gateway_ports}; MQTT {mqtt_host or 'off'}")

    url = f"http://{'127.0.0.1' if args.host in {'0.0.0.0', '::'} else args.host}:{args.port}/"
    simulator = supervisor.children.get("simulator")
    ready = False
    while not stopping:
        supervisor.tick()
        waiting = simulator is not None and simulator.process is None
        if waiting and _port_answers("127.0.0.1", next(iter(ports.values()))):
            assert simulator is not None
            supervisor.start(simulator)
            waiting = False
        if not ready and not waiting and _http_ok(url + "healthz"):
            ready = True
            _demo_block(console, url, supervisor.children["worker"].log)
        time.sleep(0.5)
    console.print("Stopping...")
    supervisor.stop()
    console.print("ontrack demo stopped.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ontrack",
        description="ontrack: community supervision, in the open.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    demo = add("demo", cmd_demo, "migrate, seed demo data and start everything")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--participants", type=int, default=600)
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--simulated-devices", type=int, default=300)
    for name, default in _GATEWAY_PORTS.items():
        demo.add_argument(
            f"--{name}-port", type=int, help=f"gateway {name} port ({default}, or a free one)"
        )
    demo.add_argument("--mqtt-host", default="127.0.0.1", help="MQTT broker host, or 'off'")

    serve = add("serve", cmd_serve, "run the web app (console, API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-access-log", action="store_true")

    add("migrate", cmd_migrate, "create or update the database schema")

    seed = add("seed", cmd_seed, "add realistic synthetic offices, staff and participants")
    seed.add_argument("--participants", type=int, default=600)
    seed.add_argument("--seed", type=int, default=2026, help="same seed, same people")
    seed.add_argument("--offices", type=int, default=3)
    seed.add_argument(
        "--into-existing",
        action="store_true",
        help="seed even though the database holds participants or staff that are not demo "
        "data (it is refused otherwise): the demo's accounts, an administrator among them, "
        "are added beside them with this install's demo password",
    )

    createuser = add("createuser", cmd_createuser, "create a staff account")
    createuser.add_argument("username")
    createuser.add_argument(
        "--role",
        required=True,
        choices=["officer", "supervisor", "operator", "administrator", "auditor"],
    )
    createuser.add_argument("--office", help="office name (officers and supervisors)")
    createuser.add_argument("--email")

    totp = add("totp", cmd_totp, "print a demo login's current second-factor code")
    totp.add_argument("username", help="one of the logins `ontrack demo` prints")

    createtoken = add("createtoken", cmd_createtoken, "create an API token for a staff member")
    createtoken.add_argument("username")
    createtoken.add_argument("--name", default="integration", help="what the token is for")

    importer = add("import", cmd_import, "import records from a file")
    importer.add_argument("kind", choices=["participants"])
    importer.add_argument("file")
    importer.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    importer.add_argument("--program", help="program name (default: ONTRACK_DEFAULT_PROGRAM)")

    gateway = add(
        "gateway",
        cmd_gateway,
        "run the device gateway (GT06, Teltonika, OsmAnd, MQTT, H02, Watch, TK103, Queclink, "
        "Meitrack, Suntech)",
    )
    gateway.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    for name, default in _GATEWAY_PORTS.items():
        gateway.add_argument(
            f"--{name}-port",
            type=_port_or_off,
            help=f"port, or 'off' (default {default}; setting ONTRACK_GATEWAY_{name.upper()}_PORT)",
        )
    gateway.add_argument("--mqtt-host", help="MQTT broker host, or 'off' (default 127.0.0.1)")
    gateway.add_argument("--mqtt-port", type=int, help="MQTT broker port (default 1883)")
    gateway.add_argument("--mqtt-client-id", help="MQTT client id (persistent session)")
    gateway.add_argument("--idle-timeout", type=float, help="seconds without a frame (600)")
    gateway.add_argument("--handshake-timeout", type=float, help="seconds to log in (30)")
    gateway.add_argument("--db-timeout", type=float, help="seconds to wait for SQLite's lock (5)")
    gateway.add_argument("--retry-interval", type=float, help="seconds between DB retries (2)")
    gateway.add_argument("--stats-interval", type=float, help="seconds between stats lines (60)")
    gateway.add_argument("--spool-dir", help="spool folder (default $ONTRACK_HOME/spool)")
    gateway.add_argument(
        "--strict-crc",
        action="store_true",
        help="reject GT06 frames and Teltonika packets whose CRC does not match",
    )
    gateway.add_argument(
        "--workers", type=int, help="gateway processes sharing the ports, one per core (1)"
    )

    simulate = add("simulate", cmd_simulate, "drive simulated wearers against a running gateway")
    simulate.add_argument("--devices", type=int, default=100)
    simulate.add_argument(
        "--protocol",
        choices=[*_GATEWAY_PORTS, "mqtt", "all"],
        default="gt06",
    )
    simulate.add_argument("--host", default="127.0.0.1", help="gateway (or broker) host")
    simulate.add_argument("--port", type=int, help="gateway port (default: the protocol's)")
    for name, default in _GATEWAY_PORTS.items():
        simulate.add_argument(f"--{name}-port", type=int, help=f"{name} port ({default})")
    simulate.add_argument("--mqtt-host", default="127.0.0.1", help="broker host, or 'off'")
    simulate.add_argument("--mqtt-port", type=int, default=1883)
    simulate.add_argument("--rate", type=float, default=60.0, help="seconds between reports")
    simulate.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    simulate.add_argument("--seed", type=int, default=2026, help="same seed, same wearers")
    simulate.add_argument("--script", help="play a JSON timeline of scripted wearers, then stop")
    simulate.add_argument(
        "--script-pace",
        type=float,
        default=60.0,
        help="wall seconds per scripted minute of silence",
    )

    worker = add("worker", cmd_worker, "run background and periodic jobs and the outbox sender")
    worker.add_argument("--workers", type=int, default=2, help="job threads (2)")
    worker.add_argument("--list", action="store_true", help="print the registered jobs and exit")
    worker.add_argument(
        "--no-jobs", action="store_true", help="only send the outbox (no Huey consumer)"
    )

    jobs = add("jobs", cmd_jobs, "list the periodic jobs, or run one now")
    jobs_sub = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    jobs_sub.add_parser("list", help="each periodic job, its schedule and its last run")
    jobs_run = jobs_sub.add_parser("run", help="run one periodic job now, in this process")
    jobs_run.add_argument("name")

    add("status", cmd_status, "show each process's heartbeat, the outbox, alerts and jobs")

    manage = add("manage", cmd_manage, "run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything a process writes under ONTRACK_HOME (the database and its WAL, photos, the
    # spool, logs, the job queue) is readable by its owner only.
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
