"""The static files as served: collected into ``STATIC_ROOT`` with hashed names.

Pages name their scripts and stylesheets by hashed names (``{% static %}`` through
whitenoise's ``CompressedManifestStaticFilesStorage``), which whitenoise serves with a
year's ``Cache-Control`` because a changed file gets a new name. Only ``collectstatic``
writes those files and the manifest that maps them, so ``ontrack serve`` and ``ontrack
demo`` call :func:`static_files_collect` first. It collects when the files the finders see
(ontrack's own, the vendored Leaflet and htmx, the admin's) differ from those of the last
collection, by a fingerprint of their paths, sizes and modification times: an upgrade or
an edited asset is collected again, an unchanged install starts at once. A lock keeps two
processes starting together from collecting over each other.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command

# What collectstatic leaves out unless told otherwise.
IGNORED = ["CVS", ".*", "*~"]


def _sources_fingerprint() -> str:
    sources = sorted(
        (path, Path(storage.path(path)).stat())
        for finder in get_finders()
        for path, storage in finder.list(IGNORED)
    )
    digest = hashlib.sha256()
    for path, stat in sources:
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def static_files_collect() -> bool:
    """Collect the static files afresh unless the last collection is of the same files;
    whether it collected. Afresh (``--clear``): collectstatic alone skips a file changed in
    the same second as its last copy, and keeps files no source has any more. The
    fingerprint and the lock sit beside ``STATIC_ROOT``, where clearing it leaves them."""
    root = Path(settings.STATIC_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    stamp = root.with_name(f"{root.name}.collected")
    with root.with_name(f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fingerprint = _sources_fingerprint()
        if stamp.exists() and stamp.read_text() == fingerprint:
            return False
        call_command("collectstatic", interactive=False, verbosity=0, clear=True)
        stamp.write_text(fingerprint)
    return True
