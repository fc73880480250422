"""Test settings: the project's settings with the database chosen per test pass.

The suite runs on SQLite always. When ``ONTRACK_TEST_POSTGRES`` is set, ``tests/conftest.py``
runs the whole suite a second time with ``ONTRACK_TEST_PASS=postgres``, and this module then
points Django at that server (pytest-django creates and drops its own ``test_*`` database).
"""

import os
import tempfile

os.environ.setdefault("ONTRACK_HOME", tempfile.mkdtemp(prefix="ontrack-test-"))

from ontrack.settings import *  # noqa: F403
from ontrack.settings import database_config

if os.environ.get("ONTRACK_TEST_PASS") == "postgres":
    DATABASES = {"default": database_config(os.environ["ONTRACK_TEST_POSTGRES"])}
    # One test database per run, so that two runs on the same server (two checkouts, or a
    # developer's run beside CI) never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_ontrack_{os.getpid()}"}
else:
    DATABASES = {"default": database_config("sqlite:///" + os.path.join(ONTRACK_HOME, "t.db"))}  # noqa: F405

HUEY = {**HUEY, "immediate": True}  # noqa: F405
# Argon2 costs tens of milliseconds per hash on purpose; the suite creates thousands of users
# and PINs, so it hashes with MD5. Tests of hashing itself ask for the production hashers with
# the `production_hashers` fixture (tests/conftest.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
