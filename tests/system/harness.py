"""The whole of ontrack as an operator runs it, for the system tests: a temporary
``ONTRACK_HOME``, the database migrated by ``ontrack migrate``, and ``ontrack serve``,
``ontrack worker`` and ``ontrack gateway`` running as separate processes on free ports, with
an SMTP mailbox and an SMPP SMSC (``tests.messaging.sinks``) standing in for the outside
world.

A test reaches ontrack only the way a person or a device does: a staff :class:`Browser`
signed in through ``/login/`` and the second factor (forms posted with the page's own CSRF
token; each staff member's :class:`Authenticator` app set up on their first sign-in from the
key the page shows), the JSON
:class:`Api` with a bearer token from ``ontrack createtoken``, real device frames over the
gateway's sockets (``ontrack simulate --script``), the CLI, and what arrives at the
mailbox and the SMSC. Nothing of ontrack runs in the test process (the one import is a
pure GT06 frame builder), so a broken link anywhere
between a device and a person's screen (a worker that registers no jobs, a sender that
never starts) fails the test that crosses it.

On PostgreSQL (the suite's second pass, ``ONTRACK_TEST_PASS=postgres``) each :class:`System`
gets a database of its own on the ``ONTRACK_TEST_POSTGRES`` server and drops it after.
"""

from __future__ import annotations

import base64
import contextlib
import email.message
import functools
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from aiosmtpd.controller import Controller
from twilio.request_validator import RequestValidator

from ontrack.tracking.simulator.wearers import gt06_login
from tests.database_templates import copy_migrated_sqlite, create_migrated_postgres, drop_postgres
from tests.messaging.sinks import Mailbox, TestSMSC, mail_body
from tests.support import cli_environment, free_port

T = TypeVar("T")

PASSWORD = "system-test passphrase 2026"
# The texting provider's webhook secret: texts received through Twilio's webhook are signed
# with it, as Twilio signs them.
TWILIO_AUTH_TOKEN = "system-test twilio token"
OFFICE = "Newark Field Office"  # the first office ``ontrack seed`` creates
# Staff the tests sign in as: (username, role, e-mail), created with ``ontrack createuser``.
STAFF = [
    ("olivia", "officer", "olivia@example.org"),
    ("sam", "supervisor", "sam@example.org"),
    ("ada", "administrator", "ada@example.org"),
]
PROCESSES = ("web", "worker", "gateway")
_ONTRACK = Path(sys.executable).with_name("ontrack")
_DATABASES = itertools.count(1)
_IDLE_JOB = re.compile(
    r"job done job=\S+ result=(0|-|\"\{[^1-9]*\}\") |retention purge .* removed=0"
)
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_TOTP_KEY = re.compile(r'<code id="totp-key">([A-Z2-7 ]+)</code>')
_RECOVERY_CODE = re.compile(r"<li><code>([0-9a-z-]{19})</code></li>")


def eventually(check: Callable[[], T | None], *, what: str, timeout: float = 30.0) -> T:
    """Poll ``check`` every 0.2 s until it returns something truthy, and return that; fail
    naming ``what`` never happened. Timeouts are generous: a slow machine waits longer, it
    does not fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s, still waiting for {what}")
        time.sleep(0.2)


def mail_text(message: email.message.Message) -> str:
    """The text of an e-mail as its reader sees it (the text part of one with files)."""
    return mail_body(message)


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@contextlib.contextmanager
def scratch_database(*, production: bool = False) -> Iterator[str | None]:
    """On the PostgreSQL pass, or for a ``production`` system whenever a test server is set,
    a new database on the test server (its URL), a copy of the run's migrated one, dropped
    afterwards; otherwise None (each ONTRACK_HOME has its own SQLite file)."""
    on_postgres = os.environ.get("ONTRACK_TEST_PASS") == "postgres"
    if not (on_postgres or (production and os.environ.get("ONTRACK_TEST_POSTGRES"))):
        yield None
        return
    server = os.environ["ONTRACK_TEST_POSTGRES"]
    name = f"ontrack_sys_{os.getpid()}_{next(_DATABASES)}"
    create_migrated_postgres(server, name)
    try:
        yield urlsplit(server)._replace(path=f"/{name}").geturl()
    finally:
        drop_postgres(server, name)


class Authenticator:
    """A staff member's authenticator app: the key read off the set-up page on their first
    sign-in, then a 6-digit code per 30-second step (RFC 6238, written out here as an app
    would, so a server that drifts from the standard fails). The server takes each step's
    code once and one step either side of its clock, so a second sign-in within a step
    uses the next step's code, as a person would wait for it."""

    STEP_S = 30

    def __init__(self) -> None:
        self.key: bytes | None = None
        self.recovery_codes: list[str] = []
        self._last_step = -1
        self._lock = threading.Lock()

    def add(self, key_text: str) -> None:
        self.key = base64.b32decode(key_text.replace(" ", ""))

    def code(self) -> str:
        assert self.key is not None, "the app was never set up"
        with self._lock:
            now = int(time.time()) // self.STEP_S
            step = max(now, self._last_step + 1)
            if step > now + 1:
                time.sleep((step - 1) * self.STEP_S - time.time() + 0.05)
            self._last_step = step
            digest = hmac.new(self.key, struct.pack(">Q", step), hashlib.sha1).digest()
            offset = digest[-1] & 0x0F
            number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
            return f"{number % 1_000_000:06d}"


class Browser:
    """A staff member's browser: a cookie jar, pages fetched, forms posted with the CSRF
    token of the page they are on."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base_url + path, params=params, timeout=60)

    def page(self, path: str, **params: Any) -> str:
        response = self.get(path, **params)
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
        return response.text

    def submit(
        self,
        page: str,
        data: dict[str, Any],
        *,
        action: str | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> requests.Response:
        """Fill in a form of ``page`` and send it, as a person would: the page is loaded
        first, must hold a form (or a button's ``formaction``) posting to ``action`` (default:
        the page itself), and the
        post carries that page's CSRF token; ``files`` are chosen in its file inputs (name,
        content, type). Redirects are not followed."""
        html = self.page(page)
        target = action or page
        if action is not None:
            assert f'action="{action}"' in html, f"{page} has no form or button posting to {action}"
        return self.session.post(
            self.base_url + target,
            data={"csrfmiddlewaretoken": csrf_token(html), **data},
            files=files,
            allow_redirects=False,
            timeout=60,
        )

    def post_form(self, path: str, html: str, data: dict[str, Any]) -> requests.Response:
        """Post the form of ``html`` (a page already loaded from ``path``) to ``path``."""
        return self.session.post(
            self.base_url + path,
            data={"csrfmiddlewaretoken": csrf_token(html), **data},
            allow_redirects=False,
            timeout=60,
        )

    def sign_in(
        self, username: str, authenticator: Authenticator, password: str = PASSWORD
    ) -> Browser:
        """The password, then the second factor: on the first sign-in the app is set up from
        the key the page shows (and the recovery codes it then shows are kept), afterwards
        the code it shows is typed in."""
        response = self.submit("/login/", {"username": username, "password": password})
        assert response.status_code == 302, f"sign-in of {username} refused"
        if authenticator.key is None:
            setup = "/account/second-factor/setup/"
            page = self.page(setup)
            key = _TOTP_KEY.search(page)
            assert key, f"{username}'s first sign-in shows no authenticator key"
            authenticator.add(key.group(1))
            done = self.post_form(setup, page, {"code": authenticator.code()})
            assert done.status_code == 200, f"{username}'s authenticator code was refused"
            authenticator.recovery_codes = _RECOVERY_CODE.findall(done.text)
            assert len(authenticator.recovery_codes) == 10, "no recovery codes were shown"
        else:
            verified = self.submit("/account/second-factor/", {"code": authenticator.code()})
            assert verified.status_code == 302, f"{username}'s authenticator code was refused"
        return self


class Api:
    """The JSON API with a bearer token, as an integration would call it."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url + "/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + path, timeout=60, **kwargs)
        assert response.status_code == expect, (
            f"{method} /api{path}: {response.status_code} {response.text[:500]}"
        )
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, 200, params=params)

    def post(self, path: str, body: dict[str, Any], *, expect: int = 201) -> Any:
        return self._call("POST", path, expect, json=body)

    def put(self, path: str, body: dict[str, Any], *, expect: int = 200) -> Any:
        return self._call("PUT", path, expect, json=body)


# What ``System.populate`` runs in one ``ontrack manage shell``. The seed puts one of the
# office's officers on call for the week; here nobody is on call but whom a scenario puts there
# (``test_on_call``), so that the others' alerts stay in the queue only.
_POPULATE = f"""
import json, os
from ontrack.accounts.models import Office
from ontrack.accounts.services import api_token_create, user_create
from ontrack.alerts.models import OnCallShift
from ontrack.seed import seed

seed(participants=20, offices=1, seed_value=7)
office = Office.objects.get(name={OFFICE!r})
tokens = {{}}
for username, role, address in {STAFF!r}:
    user = user_create(
        username=username, password=os.environ["ONTRACK_PASSWORD"], role=role, email=address,
        office=office if role in ("officer", "supervisor") else None,
    )
    tokens[username] = api_token_create(user=user, name="system tests")[1]
OnCallShift.objects.all().delete()
print(json.dumps(tokens))
"""


class System:
    """ontrack's processes in one ONTRACK_HOME, each on free ports, logging to a file."""

    def __init__(self, home: Path, *, database_url: str | None, extra_env: dict[str, str]):
        self.home = home
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        servers = ("web", "gt06", "teltonika", "osmand", "h02", "watch", "tk103", "queclink",
                   "meitrack", "suntech")  # fmt: skip
        self.ports = {name: free_port() for name in servers}
        self.base_url = f"http://127.0.0.1:{self.ports['web']}"
        self.smsc = TestSMSC()
        self.mailbox = Mailbox()
        self._smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self._smtp.start()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._tokens: dict[str, str] = {}
        self._authenticators: dict[str, Authenticator] = {}
        self._browsers: dict[str, Browser] = {}
        self.env = {
            **cli_environment(home),
            "ONTRACK_SECURE_COOKIES": "0",  # plain HTTP on 127.0.0.1
            "ONTRACK_PUBLIC_URL": self.base_url,
            # Every periodic job every 3 s (the rare ones every 15 s): a worker's ticks were
            # its system's main CPU cost over a test run, about a fifth of a core each at 2 s.
            "ONTRACK_JOBS_EVERY_S": "3",
            "ONTRACK_HEARTBEAT_S": "1",
            # The gateway learns of a fitted device within this (2 s in production).
            "ONTRACK_GATEWAY_DIRECTORY_POLL": "0.5",
            "ONTRACK_EMAIL_PROVIDER": "smtp",
            "ONTRACK_SMTP_HOST": "127.0.0.1",
            "ONTRACK_SMTP_PORT": str(self._smtp.port),
            "ONTRACK_SMS_PROVIDER": "smpp",
            "ONTRACK_SMPP_HOST": "127.0.0.1",
            "ONTRACK_SMPP_PORT": str(self.smsc.port),
            "ONTRACK_SMPP_SYSTEM_ID": "ontrack",
            "ONTRACK_SMPP_PASSWORD": "secret",
            "ONTRACK_SMPP_SOURCE": "ONTRACK",
            "ONTRACK_PASSWORD": PASSWORD,
            "COLUMNS": "200",  # rich tables (ontrack status) on one line per row
            **extra_env,
        }
        if database_url:
            self.env["ONTRACK_DATABASE_URL"] = database_url

    # --- the command line -------------------------------------------------------------------

    def ontrack(self, *args: str, check: bool = True, timeout: float = 120) -> Any:
        """Run one ``ontrack`` command to its end; its output is kept in the logs folder."""
        result = subprocess.run(
            [str(_ONTRACK), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with (self.logs / "commands.log").open("a") as log:
            log.write(f"$ ontrack {' '.join(args)}  -> exit {result.returncode}\n")
            log.write(result.stdout + result.stderr)
        if check:
            assert result.returncode == 0, (
                f"ontrack {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return result

    def populate(self) -> None:
        """An office with its seeded staff and people, and the accounts the tests sign in
        as, each with an API token.

        Other people's cases around the tests' own: seeded participants, some wearing devices
        fitted months ago, with their schedules, zones and messages; seeded first, as an
        operator would (`ontrack seed` refuses a database that already has staff of its own).
        One `ontrack` process does it all through the services `ontrack seed`, `createuser`
        and `createtoken` call (those commands have tests of their own): each command is
        mostly Python starting up, and every system of the suite is populated so."""
        output = self.ontrack("manage", "shell", "-c", _POPULATE).stdout
        self._tokens = json.loads(output.strip().splitlines()[-1])

    # --- the long-running processes -------------------------------------------------------

    def port(self, name: str, process: str = "gateway") -> int:
        """The port a server listens on: ``port("gt06")`` is the first gateway's, and
        ``port("gt06", "gateway-2")`` a second one's (given a free port when first asked)."""
        _, _, copy = process.partition("-")
        key = f"{name}-{copy}" if copy else name
        if key not in self.ports:
            self.ports[key] = free_port()
        return self.ports[key]

    def _argv(self, name: str) -> list[str]:
        """The command of a process; ``worker-2``, ``gateway-2``... are further copies of a
        kind, as a deployment on several machines runs them (a gateway copy on ports of its
        own)."""
        kind = name.partition("-")[0]
        if kind == "web":
            return ["serve", "--port", str(self.ports["web"]), "--no-access-log"]
        if kind == "worker":
            return ["worker"]
        if kind == "gateway":
            return [
                "gateway", "--host", "127.0.0.1",
                "--gt06-port", str(self.port("gt06", name)),
                "--teltonika-port", str(self.port("teltonika", name)),
                "--osmand-port", str(self.port("osmand", name)),
                "--h02-port", str(self.port("h02", name)),
                "--watch-port", str(self.port("watch", name)),
                "--tk103-port", str(self.port("tk103", name)),
                "--queclink-port", str(self.port("queclink", name)),
                "--meitrack-port", str(self.port("meitrack", name)),
                "--suntech-port", str(self.port("suntech", name)),
                "--mqtt-host", "off",
                # A copy is another machine: a spool of its own (one spool has one owner).
                *(["--spool-dir", str(self.spool_dir(name))] if "-" in name else []),
            ]  # fmt: skip
        raise ValueError(name)

    def spool_dir(self, gateway: str) -> Path:
        """The spool folder of a gateway process: the home's default for ``gateway``, one of
        its own for each copy."""
        return self.home / (f"spool-{gateway}" if "-" in gateway else "spool")

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        log.write(f"--- ontrack {' '.join(self._argv(name))}\n".encode())
        log.flush()
        self.processes[name] = subprocess.Popen(
            [str(_ONTRACK), *self._argv(name)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self, name: str, *, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL with ``kill``), then SIGKILL after 15 s."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def wait_ready(self) -> None:
        eventually(self._web_ready, what="the web app's /readyz to answer 200", timeout=60)
        eventually(
            lambda: self._accepts(self.ports["gt06"]), what="the gateway's GT06 port", timeout=60
        )

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)

    def close(self) -> None:
        self.stop_all()
        self.smsc.close()
        self._smtp.stop()

    def assert_running(self) -> None:
        dead = {
            name: process.returncode
            for name, process in self.processes.items()
            if process.poll() is not None
        }
        assert not dead, f"processes exited: {dead}\n{self.tails(30, only=dead)}"

    def _web_ready(self) -> bool:
        self.assert_running()
        try:
            return requests.get(self.base_url + "/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def _accepts(self, port: int) -> bool:
        self.assert_running()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return False
        return True

    def tails(self, lines: int = 60, *, only: Collection[str] = ()) -> str:
        """The end of every process's output (or ``only`` those processes'), for a failure
        report; periodic jobs that did nothing (every 3 s here) are left out."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            if only and path.stem not in only:
                continue
            text = [
                line
                for line in path.read_text(errors="replace").splitlines()
                if not _IDLE_JOB.search(line)
            ][-lines:]
            parts.append(f"===== {path.name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(parts)

    # --- people ------------------------------------------------------------------------------

    def browser(self, username: str) -> Browser:
        """``username`` signed in, in the browser they keep using, as staff keep one signed-in
        session through a shift; their authenticator app is set up on the first sign-in. (A
        new sign-in for every scenario would also have to wait for the app's next 30-second
        code, as a person would.)"""
        if username not in self._browsers:
            authenticator = self._authenticators.setdefault(username, Authenticator())
            self._browsers[username] = Browser(self.base_url).sign_in(username, authenticator)
        return self._browsers[username]

    def api(self, username: str) -> Api:
        """The API as one of ``STAFF``, with the token ``ontrack createtoken`` printed."""
        return Api(self.base_url, self._tokens[username])

    # --- devices -----------------------------------------------------------------------------

    def gateway_knows(self, imei: str, gateway: str = "gateway") -> bool:
        """Whether the gateway acknowledges a GT06 login from ``imei``, as the unit itself
        finds out. A device registered a moment ago is unknown until the gateway reloads its
        directory, which an unknown login asks for; a real unit simply tries again."""
        address = ("127.0.0.1", self.port("gt06", gateway))
        with socket.create_connection(address, timeout=10) as sock:
            sock.settimeout(10)
            sock.sendall(gt06_login(imei, 1))
            try:
                return len(sock.recv(10)) > 0
            except (TimeoutError, ConnectionError):
                return False

    def gateways_know_wearer(self, identifier: str, participant_id: int) -> bool:
        """Whether every gateway's device directory has ``participant_id`` as the wearer of
        ``identifier``. A gateway learns of a fitting at its next directory poll (every 2 s)
        and stores the fixes it gets before then for nobody, so no zone applies to them; a
        scenario that sends a zone entry right after fitting waits for this first. Read from
        the copy each running gateway keeps of its directory in its spool folder."""
        spools = [
            self.spool_dir(name)
            for name, process in self.processes.items()
            if name.partition("-")[0] == "gateway" and process.poll() is None
        ]
        return all(
            (spool / "directory.json").exists()
            and any(
                device["identifier"] == identifier and device["participant_id"] == participant_id
                for device in json.loads((spool / "directory.json").read_text())
            )
            for spool in spools
        )

    def watch_answers(self, watch_id: str) -> bool:
        """Whether the gateway answers a watch's ``LK`` keep-alive, as the watch finds out."""
        with socket.create_connection(("127.0.0.1", self.ports["watch"]), timeout=10) as sock:
            sock.settimeout(10)
            sock.sendall(watch_frame(watch_id, "LK,0,0,90"))
            try:
                return sock.recv(64) == watch_frame(watch_id, "LK")
            except (TimeoutError, ConnectionError):
                return False

    def text_unit_answers(self, protocol: str, imei: str) -> bool:
        """Whether the gateway answers a TK103 login (``LOAD``) or a Queclink heartbeat
        (``+SACK:GTHBD``), as the unit finds out."""
        greeting, answer = {
            "tk103": (f"##,imei:{imei},A;".encode(), b"LOAD"),
            "queclink": (f"+ACK:GTHBD,1A0800,{imei},,20261201000000,0001$".encode(),
                         b"+SACK:GTHBD,1A0800,0001$"),
        }[protocol]  # fmt: skip
        with socket.create_connection(("127.0.0.1", self.ports[protocol]), timeout=10) as sock:
            sock.settimeout(10)
            sock.sendall(greeting)
            try:
                return sock.recv(64) == answer
            except (TimeoutError, ConnectionError):
                return False

    def unit_kept(self, identifier: str, protocol: str) -> bool:
        """Whether the gateway keeps a Meitrack or Suntech unit's connection open after its
        heartbeat (those protocols are answered nothing; an unknown unit is hung up on)."""
        now = time.strftime("%y%m%d%H%M%S", time.gmtime())
        heartbeat = {
            "meitrack": meitrack_frame(identifier, f"AAA,31,0.0,0.0,{now},V,0,20,0,0,0,0,0,0,"
                                                   "0|0|0000|0000,0000,0000|0000|0000|0190|0000,"),
            "suntech": f"ST300ALV;{identifier}\r".encode("ascii"),
        }[protocol]  # fmt: skip
        with socket.create_connection(("127.0.0.1", self.ports[protocol]), timeout=10) as sock:
            sock.sendall(heartbeat)
            sock.settimeout(3)
            try:
                return sock.recv(1) != b""
            except TimeoutError:
                return True
            except ConnectionError:
                return False

    def device_online(self, identifier: str, protocol: str = "gt06") -> None:
        knows: Callable[[str], bool] = self.gateway_knows
        if protocol == "watch":
            knows = self.watch_answers
        elif protocol in ("tk103", "queclink"):
            knows = functools.partial(self.text_unit_answers, protocol)
        elif protocol in ("meitrack", "suntech"):
            knows = functools.partial(self.unit_kept, protocol=protocol)
        eventually(lambda: knows(identifier), what=f"the gateway to accept device {identifier}")

    def simulate(self, script: dict[str, Any], *, pace_s: float = 0.05) -> None:
        """Play a timeline of scripted wearers (``ontrack simulate --script``) through the
        gateway's real protocol ports, to the end."""
        path = self.home / f"script-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(script))
        protocols = {wearer.get("protocol", "gt06") for wearer in script["wearers"]}
        assert len(protocols) == 1, "one protocol per script (one --port)"
        (protocol,) = protocols
        self.ontrack(
            "simulate", "--script", str(path),
            "--host", "127.0.0.1", "--port", str(self.ports[protocol]),
            "--script-pace", str(pace_s),
        )  # fmt: skip


# --- a caseload, set up as staff set it up ----------------------------------------------------

_CASES = itertools.count(1)
_IMEIS = itertools.count(1)
_PHONES = itertools.count(10)
PORTAL_PIN = "2580"


def new_phone() -> str:
    """A number in the 555-01XX range kept for fiction, a new one each call, in an area code
    (201) that ``ontrack seed`` and the scenarios' imports (202) do not use."""
    return f"+1201555{next(_PHONES) % 100 + 100:04d}"


def texts_to(system: System, phone: str) -> list[str]:
    """The texts the SMSC was asked to deliver to ``phone``, oldest first, each long text
    put back together from its parts."""
    return system.smsc.texts_to(phone)


def text_via_twilio(system: System, from_number: str, body: str) -> requests.Response:
    """A text from ``from_number`` as Twilio delivers it: posted to the inbound webhook,
    signed over the public URL with the account's token."""
    path = "/messaging/twilio/inbound/"
    params = {
        "MessageSid": f"SM{secrets.token_hex(16)}",
        "From": from_number,
        "To": "+19735550100",
        "Body": body,
    }
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
        system.base_url + path, params
    )
    return requests.post(
        system.base_url + path,
        data=params,
        headers={"X-Twilio-Signature": signature},
        timeout=60,
    )


def office_id(api: Api) -> int:
    (office,) = [o["id"] for o in api.get("/offices") if o["name"] == OFFICE]
    return int(office)


def enrol(system: System, *, gps: bool = False, **fields: Any) -> dict[str, Any]:
    """A participant enrolled by the officer through the API, in the officer's caseload."""
    api = system.api("olivia")
    n = next(_CASES)
    body: dict[str, Any] = {
        "case_number": f"SYS-{os.getpid()}-{n:03d}",
        "given_name": "Rosa",
        "family_name": f"Tester {n}",
        "date_of_birth": "1988-04-02",
        "office_id": office_id(api),
        "preferred_language": "en",
        "phones": [],
        "plan": {"level": "intensive", "review_date": "2030-01-01", "gps_device": gps},
        **fields,
    }
    participant: dict[str, Any] = api.post("/participants", body)
    return participant


def bulk_message_send(officer: Browser, form: dict[str, str]) -> requests.Response:
    """A bulk message as an officer sends one: the form previewed first, then "Send to N
    participants" on the preview, which sends exactly what it showed."""
    previewed = officer.submit("/messaging/bulk/new/", {**form, "preview": "1"})
    assert previewed.status_code == 200, f"bulk preview refused: {previewed.text[-1500:]}"
    token = re.search(r'name="previewed" value="([^"]+)"', previewed.text)
    assert token, f"the preview offers no send: {previewed.text[-1500:]}"
    return officer.post_form(
        "/messaging/bulk/new/", previewed.text, {**form, "send": "1", "previewed": token[1]}
    )


def register_device(system: System, protocol: str = "gt06", kind: str = "ankle") -> str:
    """A unit (a GT06 ankle unit unless told) registered by the supervisor on the
    inventory's form, in stock; returns its IMEI (for a watch, its 10-digit id; for a
    Suntech unit, a 9-digit serial; for a phone app, OsmAnd, a long random id as the
    inventory asks of one, since anyone who knows it may report as the phone)."""
    serial = f"{os.getpid() % 100000:05d}{next(_IMEIS):03d}"
    imei = f"88{serial}" if protocol == "watch" else f"3597100{serial}"
    if protocol == "suntech":
        imei = f"9{serial}"
    if protocol == "osmand":
        imei = f"app-{os.getpid()}-{secrets.token_hex(8)}"
    office = office_id(system.api("sam"))
    registered = system.browser("sam").submit(
        "/tracking/devices/register/",
        {"identifier": imei, "kind": kind, "protocol": protocol, "office": office,
         "firmware": "", "time_offset_minutes": "0"},
    )  # fmt: skip
    assert registered.status_code == 302, f"device not registered: {registered.text[-1500:]}"
    return imei


def fit_device(
    system: System, participant_id: int, imei: str | None = None, protocol: str = "gt06"
) -> str:
    """The officer fits a unit (a newly registered one unless ``imei`` is given) on the
    participant's "Fit a device" form; returns its IMEI once the gateway accepts it."""
    imei = imei or register_device(system, protocol)
    fitted = system.browser("olivia").submit(
        f"/tracking/participants/{participant_id}/assign/", {"identifier": imei}
    )
    assert fitted.status_code == 302, f"device not fitted: {fitted.text[-1500:]}"
    system.device_online(imei, protocol)
    eventually(
        lambda: system.gateways_know_wearer(imei, participant_id),
        what=f"every gateway to know who wears {imei}",
    )
    return imei


def meitrack_frame(imei: str, content: str) -> bytes:
    """A Meitrack frame as a unit sends it: ``$$A<length>,<IMEI>,<content>*<checksum>\r\n``
    (the length counts from the first comma to the line end; the checksum sums the bytes up
    to the ``*``)."""
    tail = f",{imei},{content}*"
    head = f"$$A{len(tail) + 4}"
    checksum = sum((head + tail).encode("ascii")) & 0xFF
    return f"{head}{tail}{checksum:02X}\r\n".encode("ascii")


def watch_frame(watch_id: str, content: str) -> bytes:
    """A Watch / 3G frame as a watch sends it: ``[3G*<id>*<length hex>*<content>]``."""
    return f"[3G*{watch_id}*{len(content):04X}*{content}]".encode("ascii")


def osmand_report(system: System, query: str) -> tuple[int, str]:
    """An OsmAnd report (``GET /?id=...&lat=...``) to the gateway as a phone app sends it:
    the answer's status and body."""
    answer = requests.get(f"http://127.0.0.1:{system.ports['osmand']}/?{query}", timeout=10)
    return answer.status_code, answer.text


def portal_sign_in(system: System, phone: str) -> Browser:
    """The participant signs in to the portal from their phone: their number, the code that
    arrives by text (through the worker and the SMSC), then a new PIN."""
    phone_browser = Browser(system.base_url)
    asked = phone_browser.submit("/me/sign-in/", {"phone": phone})
    assert asked.status_code == 302, f"sign-in with {phone} refused"
    text = eventually(
        lambda: [t for t in texts_to(system, phone) if re.search(r"\b\d{6}\b", t)],
        what=f"the sign-in code texted to {phone}",
    )[-1]
    code = re.search(r"\b\d{6}\b", text)
    assert code is not None
    entered = phone_browser.submit("/me/code/", {"code": code.group(0)})
    assert entered.headers.get("Location") == "/me/pin/", "the texted code was refused"
    chosen = phone_browser.submit("/me/pin/", {"pin": PORTAL_PIN, "pin_again": PORTAL_PIN})
    assert chosen.headers.get("Location") == "/me/", "the new PIN was refused"
    return phone_browser


@contextlib.contextmanager
def running_system(
    home: Path,
    *,
    processes: tuple[str, ...] = PROCESSES,
    production: bool = False,
    settings: Mapping[str, str] | None = None,
) -> Iterator[System]:
    """On a copy of the run's migrated database (``ontrack migrate`` would find nothing to
    do), start every process (``processes``: add ``worker-2``, ``gateway-2``... for more than
    one of a kind), seed and create the staff accounts (while the processes start up); stop
    them all and drop the database afterwards. ``settings`` are environment variables every
    process gets.

    A ``production`` system runs on the stores of a deployment wherever the suite has them,
    on either pass: PostgreSQL (``ONTRACK_TEST_POSTGRES``) and the Redis job queue
    (``ONTRACK_TEST_REDIS``), on a queue name of its own."""
    extra_env = dict(settings or {})
    if production and (redis_url := os.environ.get("ONTRACK_TEST_REDIS")):
        extra_env = {
            "ONTRACK_REDIS_URL": redis_url,
            "ONTRACK_JOBS_QUEUE": f"ontrack-sys-{os.getpid()}-{time.monotonic_ns()}",
            **extra_env,
        }
    with scratch_database(production=production) as database_url:
        system = System(home, database_url=database_url, extra_env=extra_env)
        if database_url is None:
            copy_migrated_sqlite(home / "ontrack.sqlite3")
        try:
            for name in processes:
                system.start(name)
            system.populate()
            system.wait_ready()
            yield system
        finally:
            system.close()
