"""Schemathesis against the JSON API: every operation, generated inputs valid and invalid,
with every check (no server error, status codes and responses as documented).

The app runs in-process as WSGI on the test database, with a small caseload so that some
generated ids exist. The budget is fixed (``MAX_EXAMPLES`` per operation) so that CI time
stays predictable; run with ``ONTRACK_FUZZ_EXAMPLES=500`` for a deeper search.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from ontrack.accounts.models import Role, User
from ontrack.accounts.services import api_token_create
from ontrack.participants.models import Participant
from ontrack.wsgi import application

MAX_EXAMPLES = int(os.environ.get("ONTRACK_FUZZ_EXAMPLES", "10"))


@pytest.fixture
def connection_kept() -> Any:
    """Keep the test's database connection across requests, as Django's test client does:
    the WSGI handler would otherwise close it at the end of each request, and with it the
    test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(
    make_user: Callable[..., User], make_participant: Callable[..., Participant]
) -> dict[str, str]:
    """A supervisor's token, and a few participants so that some generated ids exist."""
    for _ in range(3):
        make_participant()
    _, secret = api_token_create(user=make_user(Role.SUPERVISOR, username="fuzzer"), name="fuzz")
    return {"Authorization": f"Bearer {secret}"}


# Every check runs. Schema-valid input may still break a rule of the domain (acknowledging an
# alert that is already closed, a zone named by no one): such refusals are 422 by design, so
# "valid data accepted" allows it beside 2xx and the answers for missing records or rights.
CHECKS = {
    "positive_data_acceptance": {"expected-statuses": ["2XX", "401", "403", "404", "409", "422"]}
}
# Two tests. The generated examples, one test per operation, on both passes, spread over
# the test processes. The coverage phase's cases (boundary values, every kind of wrong
# input) in one test on the SQLite pass: schemathesis builds them with the test, about 10 s
# of CPU, which parametrized tests spend while pytest collects, in every test process (four
# times over on two CPUs) whether or not that process then runs them. They test how the API
# reads its input, which no database changes.
GENERATED = SchemathesisConfig.from_dict(
    {"checks": CHECKS, "phases": {"coverage": {"enabled": False}}}
)
COVERAGE = SchemathesisConfig.from_dict(
    {
        "checks": CHECKS,
        "phases": {
            "examples": {"enabled": False},
            "fuzzing": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
)
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
)
# Reading the schema touches no database: it is built from the routes.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=GENERATED)


@pytest.fixture
def coverage_schema(connection_kept: None) -> Any:
    """Read at run time, through the WSGI handler: after ``connection_kept``, so that the
    handler's request signals leave the test's (blocked) database connection alone."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=COVERAGE)


@schema.parametrize()
@HYPOTHESIS
def test_the_api_answers_every_generated_request_as_documented(
    case: Any, bearer: dict[str, str], connection_kept: None
) -> None:
    case.call_and_validate(headers=bearer)


@pytest.mark.skipif(
    os.environ.get("ONTRACK_TEST_PASS") == "postgres", reason="the SQLite pass runs it"
)
@schemathesis.pytest.from_fixture("coverage_schema").parametrize()
@HYPOTHESIS
def test_the_api_answers_boundary_and_wrong_inputs_as_documented(
    case: Any, bearer: dict[str, str], connection_kept: None
) -> None:
    case.call_and_validate(headers=bearer)
