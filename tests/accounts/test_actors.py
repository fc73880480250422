"""Skipping a permission check is written down, never the accident of a missing actor.

The system acts as a ``SystemActor``; ``None`` is refused: mypy refuses it because no
service's ``actor`` parameter admits ``None`` (the walk below pins that), and at run time
``permission_require`` / ``actor_user`` raise ``TypeError`` before anything is written.
"""

import datetime as dt
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

import ontrack
from ontrack.accounts.actors import SYSTEM, SystemActor, actor_user, permission_require
from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant, ParticipantEvent
from ontrack.participants.services import hearing_add, participant_activate, participant_update
from ontrack.schedule.services import window_adhoc
from ontrack.tracking.models import Device
from ontrack.tracking.services.devices import device_register

# None where an actor belongs, typed as Any: what these tests pin is that the run time
# refuses it too, not only mypy.
NO_ACTOR: Any = None


def _service_modules() -> Iterator[ModuleType]:
    """Every ``<app>/services.py`` and every module of an ``<app>/services/`` package."""
    for app in pkgutil.iter_modules(ontrack.__path__):
        if not app.ispkg:
            continue
        name = f"ontrack.{app.name}.services"
        try:
            services = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        yield services
        for module in pkgutil.iter_modules(getattr(services, "__path__", [])):
            yield importlib.import_module(f"{services.__name__}.{module.name}")


def _actor_parameters() -> dict[str, inspect.Parameter]:
    """The ``actor`` parameter of every public service function, by qualified name."""
    found = {}
    for module in _service_modules():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            parameter = inspect.signature(function).parameters.get("actor")
            if parameter is not None:
                found[f"{module.__name__}.{name}"] = parameter
    return found


def test_no_service_accepts_none_or_a_default_for_its_actor() -> None:
    parameters = _actor_parameters()
    assert len(parameters) > 40  # the walk finds the services, not an empty list
    admitting_none = {
        name: str(parameter.annotation)
        for name, parameter in parameters.items()
        if "None" in str(parameter.annotation) or parameter.default is not inspect.Parameter.empty
    }
    assert admitting_none == {}


def test_the_system_passes_a_check_and_is_recorded_as_no_one() -> None:
    permission_require(SystemActor("nightly purge"), lambda user: False, "never")
    assert actor_user(SYSTEM) is None


@pytest.mark.django_db
def test_a_staff_member_is_checked_and_recorded(officer: User) -> None:
    permission_require(officer, lambda user: user.role == Role.OFFICER, "officers only")
    with pytest.raises(PermissionDenied, match="supervisors only"):
        permission_require(officer, lambda user: user.role == Role.SUPERVISOR, "supervisors only")
    assert actor_user(officer) == officer


def test_none_is_not_an_actor() -> None:
    with pytest.raises(TypeError):
        permission_require(NO_ACTOR, lambda user: True, "unused")
    with pytest.raises(TypeError):
        actor_user(NO_ACTOR)


def _in_an_hour() -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=1)


CALLS: dict[str, Callable[[Participant], Any]] = {
    "participant_update": lambda p: participant_update(p, actor=NO_ACTOR, given_name="Ana"),
    "participant_activate": lambda p: participant_activate(p, actor=NO_ACTOR),
    "hearing_add": lambda p: hearing_add(
        p, actor=NO_ACTOR, scheduled_at=_in_an_hour(), court="Essex", kind="status"
    ),
    "window_adhoc": lambda p: window_adhoc(
        p, actor=NO_ACTOR, opens_at=_in_an_hour(), closes_at=_in_an_hour() + dt.timedelta(hours=2)
    ),
    "device_register": lambda p: device_register(
        actor=NO_ACTOR, identifier="359339075000999", kind="ankle", protocol="gt06"
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_service_called_with_none_refuses_and_writes_nothing(
    call: Callable[[Participant], Any], make_participant: Callable[..., Participant]
) -> None:
    participant = make_participant()
    events = ParticipantEvent.objects.count()
    with pytest.raises(TypeError):
        call(participant)
    participant.refresh_from_db()
    assert participant.given_name == "María"
    assert ParticipantEvent.objects.count() == events
    assert not Device.objects.exists()
