"""Test settings: the project's settings with the database chosen per test pass.

The suite runs on SQLite always. When ``ONTRACK_TEST_POSTGRES`` is set, ``tests/conftest.py``
runs the tests that use the database a second time with ``ONTRACK_TEST_PASS=postgres``, and
this module then points Django at that server (pytest-django creates and drops its own
``test_*`` database, one per xdist worker).
"""

import atexit
import os
import shutil
import tempfile

# Every test process (each pytest-xdist worker, each pass) keeps its state (media, imports,
# the job queue, the SQLite file) in a folder of its own, removed when the process ends;
# ontrack.settings reads it from the environment.
os.environ["ONTRACK_HOME"] = tempfile.mkdtemp(
    prefix=f"ontrack-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"
)

# No test fetches map tiles from the internet: the maps draw on ontrack's own base layer
# (tests/test_map_tiles.py checks the production default in a process of its own).
os.environ["ONTRACK_MAP_TILES"] = ""

from ontrack.settings import *  # noqa: F403
from ontrack.settings import STORAGES as PRODUCTION_STORAGES
from ontrack.settings import database_config

atexit.register(shutil.rmtree, ONTRACK_HOME, ignore_errors=True)  # noqa: F405

if os.environ.get("ONTRACK_TEST_PASS") == "postgres":
    DATABASES = {"default": database_config(os.environ["ONTRACK_TEST_POSTGRES"])}
    # Django's PostgreSQL backend, emptying tables after a transactional test by DELETE
    # rather than TRUNCATE (tests/postgresql_backend says why).
    DATABASES["default"]["ENGINE"] = "tests.postgresql_backend"
    # One test database per run, so that two runs on the same server (two checkouts, or a
    # developer's run beside CI) never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_ontrack_{os.getpid()}"}
else:
    DATABASES = {"default": database_config("sqlite:///" + os.path.join(ONTRACK_HOME, "t.db"))}  # noqa: F405
    # A test database in a file, in WAL mode like production, rather than Django's default
    # in-memory shared-cache one: there a reader holds table locks that make a write from
    # another thread (the gateway's) fail at once with "database table is locked", where
    # production's writers wait their turn.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(ONTRACK_HOME, "test.sqlite3")}  # noqa: F405

# Static files straight from the source folders under their own names, so that no test
# needs a collectstatic first; tests/test_static_build.py runs the real storage, hashed names
# and all, in `ontrack serve`.
STORAGES = {
    **PRODUCTION_STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

HUEY = {**HUEY, "immediate": True}  # noqa: F405
# Argon2 costs tens of milliseconds per hash on purpose; the suite creates thousands of users
# and PINs, so it hashes with MD5. Tests of hashing itself ask for the production hashers with
# the `production_hashers` fixture (tests/conftest.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Schema fuzzing sends hundreds of requests a minute as one user; the throttle has its own test.
ONTRACK_API_RATE = "1000000/m"
