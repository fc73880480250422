"""Whether anyone would notice the worker is gone: ``ontrack status`` and the status page
read the processes' heartbeats, and administrators see a banner on every page once the
worker has been silent for ``ONTRACK_WORKER_BANNER_S``.

This module runs last (file order): it kills the worker and starts it again."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from tests.system.harness import System, eventually

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")

BANNER = "The job worker has not reported since"


def _status(system: System) -> Any:
    return system.ontrack("status", check=False)


def _worker_state(page: str, instance: str) -> str | None:
    """The state the status page shows for the job worker ``instance`` ("host:pid"; its
    outbox sender has a row of its own under the same instance)."""
    match = re.search(
        rf'<tr class="process-(\w+)">\s*<td[^>]*>Job worker</td>\s*<td[^>]*>{instance}<', page
    )
    return match.group(1) if match else None


def _listed_running(output: str, label: str) -> bool:
    return re.search(rf"{label}\s.*running", output) is not None


def test_status_exits_0_and_lists_every_process_running(system: System) -> None:
    status = eventually(
        lambda: (result := _status(system)).returncode == 0 and result,
        what="ontrack status to exit 0 with every process running",
    )
    for label in ("Web app", "Job worker", "Outbox sender", "Device gateway"):
        assert _listed_running(status.stdout, label), f"{label} not listed running"


def test_a_killed_worker_shows_silent_with_a_banner_and_a_restarted_one_clears_it(
    system: System,
) -> None:
    administrator = system.browser("ada")
    killed = f"{socket.gethostname()}:{system.processes['worker'].pid}"
    eventually(
        lambda: _status(system).returncode == 0,
        what="ontrack status to exit 0 while the worker runs",
    )
    assert _worker_state(administrator.page("/status/"), killed) == "running"

    system.stop("worker", kill=True)
    eventually(
        lambda: _worker_state(administrator.page("/status/"), killed) == "silent",
        what="the killed worker to show as silent on the status page",
    )
    eventually(
        lambda: BANNER in administrator.page("/alerts/"),
        what="the stale-worker banner on the console's pages",
    )
    assert _status(system).returncode == 1, "ontrack status fails with no worker alive"

    system.start("worker")
    restarted = f"{socket.gethostname()}:{system.processes['worker'].pid}"
    eventually(
        lambda: _worker_state(administrator.page("/status/"), restarted) == "running",
        what="the restarted worker to report on the status page",
    )
    eventually(
        lambda: BANNER not in administrator.page("/alerts/"),
        what="the banner to go once the worker reports again",
    )
    assert _status(system).returncode == 0
