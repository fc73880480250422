"""What each kind of alert weighs: whether it is raised at all, its priority, grace period,
escalation window and, for the watchdog and level kinds, their thresholds (hours off charge,
message-gap tiers, the battery level, minutes without a fix).

``DEFAULT_RULES`` is the built-in table. A program may set its own values
(``AlertRuleSetting`` with a program) and a participant's officer may override those for one
person (a setting with a participant). Resolution is field by field, participant first, then
program, then default: an empty value inherits.

Escalation counts earlier alerts of the same kind for the participant within the window
(cancelled ones excluded): the second occurrence is one priority higher than the first, the
third two higher, never above critical.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ontrack.alerts.models import AlertKind, AlertRuleSetting, Priority
from ontrack.participants.models import Participant

DEFAULT = "default"
PROGRAM = "program"
PARTICIPANT = "participant"


@dataclass(frozen=True, slots=True)
class AlertRule:
    priority: Priority
    grace: dt.timedelta
    escalation_window: dt.timedelta = dt.timedelta(days=7)
    enabled: bool = True
    charger_hours: int | None = None
    gap_tiers_minutes: tuple[int, ...] = ()
    battery_pct: int | None = None
    no_fix_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    """A rule and, per field of :class:`AlertRule`, where its value came from."""

    kind: str
    rule: AlertRule
    sources: dict[str, str]


def _minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


DEFAULT_GAP_TIERS_MINUTES = (30, 120, 1440)
DEFAULT_CHARGER_HOURS = 24
# Battery levels (percent, as the device reports them) at or below which the battery kinds
# are raised from the reported level; a level this many points above clears them, so a
# battery hovering at the threshold does not flap.
DEFAULT_LOW_BATTERY_PCT = 20
DEFAULT_CRITICAL_BATTERY_PCT = 10
BATTERY_CLEAR_MARGIN_PCT = 5
# GPS lost: a device that keeps reporting without a valid fix for this long.
DEFAULT_NO_FIX_MINUTES = 30

DEFAULT_RULES: dict[str, AlertRule] = {
    AlertKind.EXCLUSION_ZONE_ENTRY: AlertRule(Priority.HIGH, _minutes(2)),
    AlertKind.INCLUSION_ZONE_EXIT: AlertRule(Priority.MEDIUM, _minutes(10)),
    AlertKind.STRAP_TAMPER: AlertRule(Priority.CRITICAL, _minutes(0)),
    AlertKind.DEVICE_REMOVAL: AlertRule(Priority.CRITICAL, _minutes(0)),
    AlertKind.SOS: AlertRule(Priority.CRITICAL, _minutes(0)),
    AlertKind.LOW_BATTERY: AlertRule(
        Priority.LOW, _minutes(30), battery_pct=DEFAULT_LOW_BATTERY_PCT
    ),
    AlertKind.CRITICAL_BATTERY: AlertRule(
        Priority.MEDIUM, _minutes(5), battery_pct=DEFAULT_CRITICAL_BATTERY_PCT
    ),
    AlertKind.CHARGER_NOT_CONNECTED: AlertRule(
        Priority.LOW, _minutes(0), charger_hours=DEFAULT_CHARGER_HOURS
    ),
    AlertKind.MESSAGE_GAP: AlertRule(
        Priority.MEDIUM, _minutes(0), gap_tiers_minutes=DEFAULT_GAP_TIERS_MINUTES
    ),
    AlertKind.GPS_LOST: AlertRule(
        Priority.LOW, _minutes(20), no_fix_minutes=DEFAULT_NO_FIX_MINUTES
    ),
    AlertKind.MISSED_CHECKIN: AlertRule(Priority.MEDIUM, _minutes(0), dt.timedelta(days=30)),
    AlertKind.MISSED_APPOINTMENT: AlertRule(Priority.MEDIUM, _minutes(0), dt.timedelta(days=30)),
    AlertKind.MISSED_HEARING: AlertRule(Priority.HIGH, _minutes(0), dt.timedelta(days=90)),
}


def _default(kind: str) -> AlertRule:
    try:
        return DEFAULT_RULES[kind]
    except KeyError:
        raise ValueError(f"unknown alert kind: {kind!r}") from None


def _overrides(setting: AlertRuleSetting) -> dict[str, object]:
    """The rule fields this setting sets, in :class:`AlertRule` terms."""
    values: dict[str, object] = {}
    if setting.enabled is not None:
        values["enabled"] = setting.enabled
    if setting.priority is not None:
        values["priority"] = Priority(setting.priority)
    if setting.grace_minutes is not None:
        values["grace"] = _minutes(setting.grace_minutes)
    if setting.escalation_window_hours is not None:
        values["escalation_window"] = dt.timedelta(hours=setting.escalation_window_hours)
    if setting.charger_hours is not None:
        values["charger_hours"] = setting.charger_hours
    if setting.battery_pct is not None:
        values["battery_pct"] = setting.battery_pct
    if setting.no_fix_minutes is not None:
        values["no_fix_minutes"] = setting.no_fix_minutes
    if setting.gap_tiers_minutes:
        values["gap_tiers_minutes"] = tuple(sorted(int(m) for m in setting.gap_tiers_minutes))
    return values


def rule_resolve(
    kind: str,
    *,
    program_setting: AlertRuleSetting | None = None,
    participant_setting: AlertRuleSetting | None = None,
) -> ResolvedRule:
    """Apply the program's, then the participant's values over the default."""
    rule = _default(kind)
    sources = {field.name: DEFAULT for field in dataclasses.fields(AlertRule)}
    for layer, setting in ((PROGRAM, program_setting), (PARTICIPANT, participant_setting)):
        if setting is None:
            continue
        values = _overrides(setting)
        rule = dataclasses.replace(rule, **values)  # type: ignore[arg-type]
        sources.update(dict.fromkeys(values, layer))
    return ResolvedRule(kind=kind, rule=rule, sources=sources)


def rules_for_participants(kind: str, participant_ids: Iterable[int]) -> dict[int, AlertRule]:
    """The effective rule of ``kind`` for each participant, in two queries whatever their
    number (the watchdogs resolve it for every worn device)."""
    _default(kind)
    programs = dict(
        Participant.objects.filter(pk__in=list(participant_ids)).values_list("pk", "program_id")
    )
    if not programs:
        return {}
    settings = AlertRuleSetting.objects.filter(kind=kind).filter(
        participant_id__in=list(programs)
    ) | AlertRuleSetting.objects.filter(kind=kind, program_id__in=set(programs.values()))
    by_program: dict[int, AlertRuleSetting] = {}
    by_participant: dict[int, AlertRuleSetting] = {}
    for setting in settings:
        if setting.program_id is not None:
            by_program[setting.program_id] = setting
        elif setting.participant_id is not None:
            by_participant[setting.participant_id] = setting
    return {
        pid: rule_resolve(
            kind,
            program_setting=by_program.get(program_id),
            participant_setting=by_participant.get(pid),
        ).rule
        for pid, program_id in programs.items()
    }


def rule_for(kind: str, participant: Participant | int | None = None) -> AlertRule:
    """The rule for ``kind``: the participant's override, else their program's, else the
    default. Without a participant, the default."""
    if participant is None:
        return _default(kind)
    pid = participant.pk if isinstance(participant, Participant) else participant
    return rules_for_participants(kind, [pid]).get(pid) or _default(kind)
