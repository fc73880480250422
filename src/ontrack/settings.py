"""Django settings for ontrack, driven by environment variables.

Everything an operator changes between a laptop demo and production comes from the
environment, so one settings module serves both:

- ``ONTRACK_HOME``: folder for local state (default ``./var``): the SQLite database, the
  generated secret key, uploaded media, the job queue and the gateway spool.
- ``ONTRACK_DATABASE_URL``: default ``sqlite:///<ONTRACK_HOME>/ontrack.sqlite3``; a
  ``postgresql://`` URL is all it takes to run on PostgreSQL.
- ``ONTRACK_SECRET_KEY``: generated once and stored under ``ONTRACK_HOME`` when absent.
- ``ONTRACK_DEBUG``: ``1`` for development only.
- ``ONTRACK_ALLOWED_HOSTS``: comma-separated (default ``localhost,127.0.0.1``).
- ``ONTRACK_SECURE_COOKIES``: ``0`` to allow session cookies over plain HTTP (the local
  demo); defaults to on unless debugging.
- ``ONTRACK_REDIS_URL``: when set, background jobs use Redis instead of SQLite.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext

from ontrack.logging import logging_config

# Lets admin and form classes be subscripted for type checking (ModelAdmin[Model]).
django_stubs_ext.monkeypatch()


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


PACKAGE_DIR = Path(__file__).resolve().parent
ONTRACK_HOME = Path(os.environ.get("ONTRACK_HOME", Path.cwd() / "var")).resolve()
ONTRACK_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Return the configured key, or one generated on first start and kept on disk.

    Keeping it on disk means sessions survive a restart of the demo without anyone having to
    invent a key; production sets ``ONTRACK_SECRET_KEY`` from its secret store. Processes
    started together in a new home (the demo, the system tests) race to make it: each
    writes its key to a file of its own and links it into place, which fails if another
    was first, so every process reads one whole key and none crashes.
    """
    configured = os.environ.get("ONTRACK_SECRET_KEY")
    if configured:
        return configured
    key_file = ONTRACK_HOME / "secret_key"
    if not key_file.exists():
        candidate = key_file.with_name(f"secret_key.{os.getpid()}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(candidate, key_file)
        except FileExistsError:
            pass  # another process made it first: its key is the one
        finally:
            candidate.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_flag("ONTRACK_DEBUG", False)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ONTRACK_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("ONTRACK_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "csp",
    "ontrack.operations",
    "ontrack.audit",
    "ontrack.accounts",
    "ontrack.participants",
    "ontrack.messaging",
    "ontrack.alerts",
    "ontrack.zones",
    "ontrack.schedule",
    "ontrack.tracking",
    "ontrack.portal",
    "ontrack.reviews",
    "ontrack.reports",
    "ontrack.transfer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ontrack.accounts.middleware.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ontrack.urls"
WSGI_APPLICATION = "ontrack.wsgi.application"
ASGI_APPLICATION = "ontrack.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "ontrack.operations.context_processors.system_banner",
                "ontrack.accounts.context_processors.staff_clock",
            ],
        },
    },
]

DATABASE_URL = os.environ.get(
    "ONTRACK_DATABASE_URL", f"sqlite:///{ONTRACK_HOME / 'ontrack.sqlite3'}"
)


def database_config(url: str) -> dict[str, object]:
    """Turn a database URL into Django's settings, tuned per engine.

    SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` transactions so that the web app, the
    worker and the gateway (separate processes) queue for the write lock instead of failing
    with "database is locked" when a read transaction tries to upgrade. A 64 MB page cache
    and a checkpoint every ~80 MB of WAL instead of every 4 MB: each batch of positions
    dirties one index page per device, and checkpointing (an fsync) every thousand rows
    capped inserts at ~27,000/s; this way they run at ~60,000/s.
    """
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON; "
                "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=20000;"
            ),
        }
    else:
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes): lock a username+address pair after repeated failures.
# The JSON API's rate per staff member ("requests/period", period s, m, h or d).
ONTRACK_API_RATE = os.environ.get("ONTRACK_API_RATE", "1200/m")

AXES_FAILURE_LIMIT = int(os.environ.get("ONTRACK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- staff second factor (ontrack.accounts.second_factor) ---
# Every staff member passes a second factor (authenticator app, passkey or recovery code)
# after the password before any page but the second-factor pages (the CJIS Security Policy's
# advanced authentication). Off only where something in front of ontrack (an SSO proxy)
# already demands one. The JSON API with a bearer token is not affected: a token is a
# credential of its own.
ONTRACK_STAFF_MFA = _env_flag("ONTRACK_STAFF_MFA", True)
# Issuer shown beside the account in authenticator apps.
OTP_TOTP_ISSUER = os.environ.get("ONTRACK_TOTP_ISSUER", "ontrack")
# After n wrong codes in a row a device refuses every code for 2^(n-1) x this many seconds.
OTP_TOTP_THROTTLE_FACTOR = 1
# Never show a TOTP seed in the admin (django-otp's admin is not registered anyway).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Passkeys (django-otp-webauthn) are a second factor only, never a sign-in without the
# password. The relying party and the allowed origin are the host the request came to
# (checked against ALLOWED_HOSTS), so a deployment reached by its name needs no setting of
# its own; see ontrack.accounts.passkeys.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "ontrack.accounts.passkeys.StaffPasskeyHelper"
OTP_WEBAUTHN_RP_ID_CALLABLE = "ontrack.accounts.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = "ontrack"
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "ontrack.accounts.passkeys"
# The library checks for a fixed list of origins; ours is computed per request (above).
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]

SECURE_COOKIES = _env_flag("ONTRACK_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if _env_flag("ONTRACK_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt", "Português"),
    ("ht", "Kreyòl ayisyen"),
    ("fr", "Français"),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Collected there by `ontrack serve` and `ontrack demo` (ontrack.static_build) with hashed
# names, which whitenoise serves with a year's caching. ONTRACK_STATIC_ROOT shares one
# collection between installs of the same version (the test suite's many homes), since
# collecting is most of a web process's start.
STATIC_ROOT = Path(os.environ.get("ONTRACK_STATIC_ROOT") or ONTRACK_HOME / "static").resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = ONTRACK_HOME / "media"
MEDIA_URL = "media/"
# Request bodies: fields other than files at most 10 MB (Django answers 400 beyond); an
# uploaded file up to 10 MB is kept in memory, a larger one goes to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# The largest caseload CSV the console accepts (``ONTRACK_IMPORT_MAX_MB``, 10). A larger
# upload is refused as it arrives, before the file is stored or read; split the file, or
# use ``ontrack import participants``, which has no limit.
ONTRACK_IMPORT_MAX_BYTES = int(float(os.environ.get("ONTRACK_IMPORT_MAX_MB", "10")) * 1024 * 1024)

# How long a bulk action (a caseload transfer; a bulk booking, cancel or move of appointments,
# or a closed office day) can be undone from its page, in minutes
# (``ONTRACK_BULK_UNDO_MINUTES``, 15). Afterwards each person or appointment is changed one
# by one.
ONTRACK_BULK_UNDO_MINUTES = int(os.environ.get("ONTRACK_BULK_UNDO_MINUTES", "15"))

# When each supervisor's weekly summary of the past Monday-to-Sunday week is e-mailed, on
# their office's clock: ``ONTRACK_WEEKLY_SUMMARY_WEEKDAY`` (0 Monday ... 6 Sunday, default 0)
# at ``ONTRACK_WEEKLY_SUMMARY_HOUR`` (0-23, default 7). ``ontrack.reports.weekly_summary``.
ONTRACK_WEEKLY_SUMMARY_WEEKDAY = int(os.environ.get("ONTRACK_WEEKLY_SUMMARY_WEEKDAY", "0"))
ONTRACK_WEEKLY_SUMMARY_HOUR = int(os.environ.get("ONTRACK_WEEKLY_SUMMARY_HOUR", "7"))

ONTRACK_DEFAULT_PROGRAM = os.environ.get("ONTRACK_DEFAULT_PROGRAM", "ATD")
ONTRACK_PAGE_SIZE = 50

# Which fixes are stored (``ontrack.tracking.filters``), per device kind; "default" applies
# to every kind and each kind overrides single keys. max_future_s: seconds a fix time may be
# ahead of the server clock; max_accuracy_m: worst accepted accuracy radius of a valid fix
# (None: any). Invalid fixes (no fix, too few satellites, marked invalid by the device) are
# stored marked as such, never dropped; device events are never filtered.
ONTRACK_TRACKING_FILTERS: dict[str, dict[str, object]] = {
    "default": {
        "max_future_s": 300,
        "max_accuracy_m": 500,
    },
    "phone": {"max_accuracy_m": 150},
}

# How long each kind of data is kept, in days; the nightly purge deletes anything older
# (whole day partitions of positions on PostgreSQL).
ONTRACK_RETENTION_DAYS: dict[str, int] = {
    "positions": int(os.environ.get("ONTRACK_RETENTION_POSITIONS_DAYS", "365")),
    "device_events": int(os.environ.get("ONTRACK_RETENTION_DEVICE_EVENTS_DAYS", "365")),
}

# Map tiles for the console's maps: OpenStreetMap's standard tiles unless set. OSM's tile
# usage policy (https://operations.osmfoundation.org/policies/tiles/) allows light use with
# its attribution shown; a program with many staff must use its own tile server or a
# provider's (README, "Maps and tiles"). Set explicitly empty (ONTRACK_MAP_TILES=) for no
# tiles at all: nothing leaves the network, and every map still draws on the base layer of
# country and state boundaries ontrack serves itself (static/ontrack/map.js), as it does
# whenever the tiles cannot be fetched.
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
ONTRACK_MAP_TILES = os.environ.get("ONTRACK_MAP_TILES", OSM_TILES).strip()
ONTRACK_MAP_ATTRIBUTION = os.environ.get(
    "ONTRACK_MAP_ATTRIBUTION", OSM_ATTRIBUTION if ONTRACK_MAP_TILES == OSM_TILES else ""
)

# The live map of the caseload (/tracking/map/): a wearer whose device has had no fix for
# this many minutes is drawn as stale (30: the first message-gap tier of the alert rules),
# and the page asks for positions again every ONTRACK_LIVE_MAP_POLL_S seconds.
ONTRACK_LIVE_MAP_STALE_MINUTES = int(os.environ.get("ONTRACK_LIVE_MAP_STALE_MINUTES", "30"))
ONTRACK_LIVE_MAP_POLL_S = int(os.environ.get("ONTRACK_LIVE_MAP_POLL_S", "15"))


# Address search in the zone editor: a Nominatim-style search endpoint (it takes q, format=
# jsonv2 and limit, and answers a list of places with lat, lon and boundingbox), e.g.
# https://nominatim.openstreetmap.org/search (its usage policy allows light use; a program
# should run its own or use a provider's). Off (empty) by default: then the editor has no
# search box and the browser asks no other site for anything. The browser queries it
# directly, so the Content-Security-Policy's connect-src allows its host, and only then.
ONTRACK_GEOCODER_URL = os.environ.get("ONTRACK_GEOCODER_URL", "").strip()


def _origin(url: str) -> list[str]:
    """The origin a URL (or tile template) points at, for the Content-Security-Policy
    ("https://{s}.tile.example.org/{z}/..." -> "https://*.tile.example.org"); none for ""."""
    from urllib.parse import urlsplit

    if not url:
        return []
    parts = urlsplit(url.replace("{s}", "*"))
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


# Content-Security-Policy on every response (django-csp): scripts only from this origin and
# never inline, so an injected <script> or onload= does nothing; styles may be inline (the
# portal's pages carry their CSS inline); images from here, data: URIs (the QR codes and
# charts) and the tile server; connections to this origin and the geocoder, if one is
# configured; nothing may frame the console.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_origin(ONTRACK_MAP_TILES)],
        "connect-src": ["'self'", *_origin(ONTRACK_GEOCODER_URL)],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REDIS_URL = os.environ.get("ONTRACK_REDIS_URL", "")
# The job queue's name: two deployments sharing one Redis need different names.
JOBS_QUEUE = os.environ.get("ONTRACK_JOBS_QUEUE", "ontrack")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": JOBS_QUEUE,
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": JOBS_QUEUE,
        "filename": str(ONTRACK_HOME / "jobs.sqlite3"),
        "immediate": False,
    }

LOGGING = logging_config(os.environ.get("ONTRACK_LOG_LEVEL", "INFO"))

# --- tracking ---
# Seconds an on-demand location request (DeviceCommand) may wait for its device to connect
# and answer before it is marked expired (the console then says "no answer").
ONTRACK_TRACKING_COMMAND_TIMEOUT = int(os.environ.get("ONTRACK_TRACKING_COMMAND_TIMEOUT", "600"))

# --- portal ---
# How long a sign-in code and link stay valid, in seconds.
ONTRACK_PORTAL_CODE_TTL_S = 10 * 60
# Wrong codes tolerated before the code dies (the participant asks for a new one).
ONTRACK_PORTAL_CODE_MAX_TRIES = 5
# Window, in seconds, over which the sign-in throttles below count.
ONTRACK_PORTAL_THROTTLE_WINDOW_S = 15 * 60
# Codes that may be sent to one participant per window.
ONTRACK_PORTAL_SEND_LIMIT = 5
# Codes that may be tried for one participant per window.
ONTRACK_PORTAL_TRY_LIMIT = 10
# Sign-in requests (send, try, link) from one IP address per window.
ONTRACK_PORTAL_IP_LIMIT = 60
# Wrong PINs in a row before the PIN is locked, and for how long (seconds).
ONTRACK_PORTAL_PIN_MAX_FAILURES = 5
ONTRACK_PORTAL_PIN_LOCKOUT_S = 30 * 60

# --- zones ---
# How many wrong-side fixes in a row make a zone violation when none of them has its whole
# accuracy circle (plus the zone's buffer) on the wrong side.
ONTRACK_ZONE_CONSECUTIVE_FIXES = int(os.environ.get("ONTRACK_ZONE_CONSECUTIVE_FIXES", "3"))

# --- alerts ---
# Minutes an alert may stay open without anyone acknowledging it before the person on call
# for its office is texted, for offices that have not set their own (``alerts.on_call``).
ONTRACK_ALERTS_ON_CALL_MINUTES = int(os.environ.get("ONTRACK_ALERTS_ON_CALL_MINUTES", "30"))

# --- messaging ---
# The address the outside world reaches this server at, e.g. "https://ontrack.example.org".
# Twilio signs its webhooks against the URL it called, so signatures are checked against
# this (a proxy in front changes the host and scheme Django sees), and status callback URLs
# are built from it.
ONTRACK_PUBLIC_URL = os.environ.get("ONTRACK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Which provider sends each channel: "console" (prints; the demo), "twilio", "smpp", "smtp".
ONTRACK_MESSAGING_PROVIDERS: dict[str, str] = {
    "sms": os.environ.get("ONTRACK_SMS_PROVIDER", "console"),
    "email": os.environ.get("ONTRACK_EMAIL_PROVIDER", "console"),
}
# Per-provider send rate: (amount per second, "messages" or "segments"), from the account's
# contract; the sender waits rather than exceed it.
ONTRACK_MESSAGING_RATES: dict[str, tuple[float, str]] = {
    "console": (float(os.environ.get("ONTRACK_CONSOLE_RATE", "1000")), "messages"),
    "twilio": (float(os.environ.get("ONTRACK_TWILIO_RATE", "1")), "segments"),
    "smpp": (float(os.environ.get("ONTRACK_SMPP_RATE", "50")), "segments"),
    "smtp": (float(os.environ.get("ONTRACK_SMTP_RATE", "10")), "messages"),
}
# The least share of each claim kept for one-to-one texts while a bulk send drains.
ONTRACK_MESSAGING_DIRECT_SHARE = 0.5
# Local quiet hours [start, end) on each participant's clock in which reminders and bulk
# messages are not delivered, as "HH:MM-HH:MM" (empty: none).
ONTRACK_MESSAGING_QUIET_HOURS: tuple[str, ...] = tuple(
    part
    for part in os.environ.get("ONTRACK_MESSAGING_QUIET_HOURS", "21:00-08:00").split("-")
    if part.strip()
)
# Seconds a message may stay "sending" before another worker reconciles it with the
# provider (a worker killed mid-send); longer than any provider call may take.
ONTRACK_MESSAGING_SENDING_LEASE_S = int(os.environ.get("ONTRACK_MESSAGING_SENDING_LEASE_S", "120"))
# The console provider appends one JSON line per message here (and fsyncs) when set, so a
# restarted worker can tell what it already "sent".
ONTRACK_MESSAGING_CONSOLE_LOG = os.environ.get("ONTRACK_MESSAGING_CONSOLE_LOG", "")
# Participants written to the outbox per bulk-expansion transaction.
ONTRACK_MESSAGING_BULK_CHUNK = int(os.environ.get("ONTRACK_MESSAGING_BULK_CHUNK", "5000"))
# Twilio account (REST API and webhook signatures), sender number and an API base override
# (tests point it at a local server).
ONTRACK_TWILIO_ACCOUNT_SID = os.environ.get("ONTRACK_TWILIO_ACCOUNT_SID", "")
ONTRACK_TWILIO_AUTH_TOKEN = os.environ.get("ONTRACK_TWILIO_AUTH_TOKEN", "")
ONTRACK_TWILIO_FROM = os.environ.get("ONTRACK_TWILIO_FROM", "")
ONTRACK_TWILIO_API_BASE = os.environ.get("ONTRACK_TWILIO_API_BASE", "")
# SMPP account at the SMSC: host, port, credentials, source address, keep-alive seconds.
ONTRACK_SMPP_HOST = os.environ.get("ONTRACK_SMPP_HOST", "127.0.0.1")
ONTRACK_SMPP_PORT = int(os.environ.get("ONTRACK_SMPP_PORT", "2775"))
ONTRACK_SMPP_SYSTEM_ID = os.environ.get("ONTRACK_SMPP_SYSTEM_ID", "")
ONTRACK_SMPP_PASSWORD = os.environ.get("ONTRACK_SMPP_PASSWORD", "")
ONTRACK_SMPP_SOURCE = os.environ.get("ONTRACK_SMPP_SOURCE", "")
ONTRACK_SMPP_ENQUIRE_LINK_S = int(os.environ.get("ONTRACK_SMPP_ENQUIRE_LINK_S", "30"))
# SMTP for e-mail notices: Django's EMAIL_* settings, from the environment.
EMAIL_HOST = os.environ.get("ONTRACK_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("ONTRACK_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("ONTRACK_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ONTRACK_SMTP_PASSWORD", "")
EMAIL_USE_TLS = _env_flag("ONTRACK_SMTP_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("ONTRACK_EMAIL_FROM", "ontrack <notices@localhost>")

# --- schedule ---
# Days of check-in windows kept materialised ahead of today by the daily generation job.
ONTRACK_SCHEDULE_HORIZON_DAYS = int(os.environ.get("ONTRACK_SCHEDULE_HORIZON_DAYS", "60"))
# Minutes after a window closes before it is marked missed (an offline phone may still be
# uploading an attempt made in time).
ONTRACK_SCHEDULE_MISSED_GRACE_MINUTES = int(
    os.environ.get("ONTRACK_SCHEDULE_MISSED_GRACE_MINUTES", "60")
)
# Windows opening within this many days get their reminders computed by messaging.
ONTRACK_SCHEDULE_REMINDER_DAYS = int(os.environ.get("ONTRACK_SCHEDULE_REMINDER_DAYS", "8"))
# Default slot length and people per slot of an office that has not set its own.
ONTRACK_SCHEDULE_SLOT_MINUTES = int(os.environ.get("ONTRACK_SCHEDULE_SLOT_MINUTES", "30"))
ONTRACK_SCHEDULE_SLOT_CAPACITY = int(os.environ.get("ONTRACK_SCHEDULE_SLOT_CAPACITY", "4"))
# Largest check-in photo accepted, in bytes.
ONTRACK_SCHEDULE_PHOTO_MAX_BYTES = int(
    os.environ.get("ONTRACK_SCHEDULE_PHOTO_MAX_BYTES", str(8 * 1024 * 1024))
)
# How far the phone's clock is believed: an attempt claimed more than this many hours
# before the server received it counts at its arrival; one claimed more than the review
# threshold before arrival gives the officer a task to look at it.
ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS = int(
    os.environ.get("ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS", "48")
)
ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS = int(
    os.environ.get("ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS", "6")
)
# Name of the automatic face matcher a program enabled (see schedule/face_match.py). Empty:
# none, so no biometric template is ever made; photos are reviewed by an officer only.
ONTRACK_SCHEDULE_FACE_MATCHER = os.environ.get("ONTRACK_SCHEDULE_FACE_MATCHER", "")

# --- reviews ---
# The compliance period a supervision review looks at, and what a record must show for the
# system to propose a step-down (a supervisor decides either way).
ONTRACK_REVIEW_PERIOD_DAYS = int(os.environ.get("ONTRACK_REVIEW_PERIOD_DAYS", "90"))
ONTRACK_STEP_DOWN_MIN_ON_TIME = float(os.environ.get("ONTRACK_STEP_DOWN_MIN_ON_TIME", "0.9"))
ONTRACK_STEP_DOWN_MIN_CHECKINS = int(os.environ.get("ONTRACK_STEP_DOWN_MIN_CHECKINS", "6"))
# Days from a decision to the plan's next review date.
ONTRACK_REVIEW_INTERVAL_DAYS = int(os.environ.get("ONTRACK_REVIEW_INTERVAL_DAYS", "90"))
