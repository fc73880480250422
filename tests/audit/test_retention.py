import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Role, User
from ontrack.audit.models import AccessAction, AccessLogEntry, AccessLogSubject, RetentionRun
from ontrack.audit.retention import (
    RetentionKind,
    retention_days,
    retention_kind_register,
    retention_purge_all,
)
from ontrack.audit.services import access_log_record, retention_policy_set

pytestmark = pytest.mark.django_db


def _aged_entry(days_old: int) -> AccessLogEntry:
    access_log_record(user=None, action=AccessAction.VIEW, what=f"aged {days_old}")
    entry = AccessLogEntry.objects.latest("id")
    AccessLogEntry.objects.filter(pk=entry.pk).update(
        at=timezone.now() - dt.timedelta(days=days_old)
    )
    return entry


def test_nightly_purge_removes_only_access_log_entries_past_their_period(
    settings: Settings,
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 30}
    old, recent = _aged_entry(31), _aged_entry(29)
    removed = retention_purge_all()
    assert removed["access_log"] == 1
    assert list(AccessLogEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AccessLogEntry.objects.filter(pk=old.pk).exists()


def test_the_purge_takes_an_entrys_index_of_participants_with_it(settings: Settings) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 30}
    access_log_record(user=None, action=AccessAction.LIST, what="old", participant_ids=[1, 2])
    access_log_record(user=None, action=AccessAction.LIST, what="new", participant_ids=[2, 3])
    aged = timezone.now() - dt.timedelta(days=31)
    AccessLogEntry.objects.filter(what="old").update(at=aged)
    AccessLogSubject.objects.filter(entry__what="old").update(at=aged)
    retention_purge_all()
    assert sorted(AccessLogSubject.objects.values_list("subject_id", flat=True)) == [2, 3]
    assert list(AccessLogEntry.objects.values_list("what", flat=True)) == ["new"]


def test_a_purge_run_records_counts_and_cutoff_not_content(settings: Settings) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 10}
    _aged_entry(11)
    _aged_entry(12)
    now = timezone.now()
    retention_purge_all(now=now)
    run = RetentionRun.objects.get(kind="access_log")
    assert (run.removed, run.days, run.cutoff) == (2, 10, now - dt.timedelta(days=10))
    assert "aged" not in run.error


def test_an_administrator_can_shorten_a_period_but_not_lengthen_it(
    make_user: Callable[..., User], settings: Settings
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "messages": 100}
    admin = make_user(Role.ADMINISTRATOR)
    retention_policy_set(user=admin, kind="messages", days=40)
    assert retention_days("messages") == 40
    with pytest.raises(ValidationError):
        retention_policy_set(user=admin, kind="messages", days=101)
    assert retention_days("messages") == 40


def test_the_access_log_cannot_be_shortened_from_the_console(
    make_user: Callable[..., User], settings: Settings
) -> None:
    """Otherwise an administrator could erase the record of their own reads by setting its
    retention to one day; shortening it is a deployment setting."""
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 2555}
    admin = make_user(Role.ADMINISTRATOR)
    with pytest.raises(ValidationError):
        retention_policy_set(user=admin, kind="access_log", days=1)
    old = _aged_entry(5)
    retention_purge_all()
    assert AccessLogEntry.objects.filter(pk=old.pk).exists()
    assert retention_days("access_log") == 2555


def test_only_administrators_set_retention(make_user: Callable[..., User]) -> None:
    with pytest.raises(PermissionDenied):
        retention_policy_set(user=make_user(Role.SUPERVISOR), kind="access_log", days=10)


def test_one_failing_purge_is_recorded_and_the_others_still_run(settings: Settings) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 5}

    def broken(cutoff: dt.datetime) -> int:
        raise RuntimeError("table locked")

    retention_kind_register(
        RetentionKind(
            key="a_broken_kind", label="A broken kind", default_days=1, purge=broken, models=()
        )
    )
    _aged_entry(6)
    try:
        removed = retention_purge_all()
    finally:
        from ontrack.audit import retention

        retention._kinds.pop("a_broken_kind")
    assert removed["access_log"] == 1
    assert RetentionRun.objects.get(kind="a_broken_kind").error == "table locked"
