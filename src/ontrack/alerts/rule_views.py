"""Console pages for alert configuration: a program's rules, one participant's overrides, and
an office's staff notifications. Thin: who may change what is decided by the services
(``alert_rule_setting_save``, ``notification_rule_create``...), and the pages check the same
predicates before showing a form."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.alerts.models import (
    AlertKind,
    AlertRuleSetting,
    NotificationRule,
    NotifyChannel,
    NotifyRecipient,
    Priority,
)
from ontrack.alerts.notifications import (
    notification_rule_create,
    notification_rule_delete,
    notification_rule_problems,
    notification_rules_editable_by,
)
from ontrack.alerts.rules import AlertRule, ResolvedRule, rule_resolve
from ontrack.alerts.services import RuleValues, alert_rule_setting_save, program_rules_editable_by
from ontrack.participants.gate import participant_read
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant

Kept = TypeVar("Kept", Program, Office)

INHERIT = [("", "Inherit")]


class RuleForm(forms.Form):
    """One kind's values; every field left empty inherits."""

    kind = forms.ChoiceField(choices=AlertKind.choices)
    enabled = forms.TypedChoiceField(
        choices=[*INHERIT, ("on", "Raised"), ("off", "Not raised")],
        required=False,
        coerce=lambda v: v == "on",
        empty_value=None,
    )
    priority = forms.TypedChoiceField(
        choices=[*INHERIT, *Priority.choices], required=False, coerce=int, empty_value=None
    )
    grace_minutes = forms.IntegerField(required=False, min_value=0, max_value=7 * 24 * 60)
    escalation_window_hours = forms.IntegerField(required=False, min_value=0, max_value=24 * 365)
    charger_hours = forms.IntegerField(required=False, min_value=1, max_value=24 * 14)
    battery_pct = forms.IntegerField(required=False, min_value=1, max_value=95)
    no_fix_minutes = forms.IntegerField(required=False, min_value=5, max_value=7 * 24 * 60)
    gap_tiers_minutes = forms.CharField(
        required=False, max_length=100, help_text="Minutes, comma-separated, e.g. 30, 120, 1440."
    )

    def clean_gap_tiers_minutes(self) -> tuple[int, ...] | None:
        raw = self.cleaned_data["gap_tiers_minutes"].replace(" ", "")
        if not raw:
            return None
        try:
            return tuple(int(part) for part in raw.split(",") if part)
        except ValueError:
            raise ValidationError("Whole minutes, separated by commas.") from None

    def values(self) -> RuleValues:
        data = self.cleaned_data
        return RuleValues(
            enabled=data["enabled"],
            priority=data["priority"],
            grace_minutes=data["grace_minutes"],
            escalation_window_hours=data["escalation_window_hours"],
            charger_hours=data["charger_hours"],
            battery_pct=data["battery_pct"],
            no_fix_minutes=data["no_fix_minutes"],
            gap_tiers_minutes=data["gap_tiers_minutes"],
        )


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A kind as the page shows it: the effective rule, where each value comes from, and the
    values this page's owner set itself (to prefill its form)."""

    kind: str
    label: str
    resolved: ResolvedRule
    own: AlertRuleSetting | None

    @property
    def rule(self) -> AlertRule:
        return self.resolved.rule

    @property
    def grace_minutes(self) -> int:
        return int(self.rule.grace.total_seconds() // 60)

    @property
    def escalation_window_hours(self) -> int:
        return int(self.rule.escalation_window.total_seconds() // 3600)

    @property
    def tiers(self) -> str:
        return ", ".join(str(t) for t in self.rule.gap_tiers_minutes)

    @property
    def own_tiers(self) -> str:
        tiers = self.own.gap_tiers_minutes if self.own is not None else None
        return ", ".join(str(t) for t in tiers) if tiers else ""

    @property
    def own_enabled(self) -> str:
        if self.own is None or self.own.enabled is None:
            return ""
        return "on" if self.own.enabled else "off"


def _rows(program: Program, participant: Participant | None) -> list[RuleRow]:
    program_settings = {s.kind: s for s in AlertRuleSetting.objects.filter(program=program)}
    participant_settings = (
        {s.kind: s for s in AlertRuleSetting.objects.filter(participant=participant)}
        if participant is not None
        else {}
    )
    own = participant_settings if participant is not None else program_settings
    return [
        RuleRow(
            kind=kind,
            label=label,
            resolved=rule_resolve(
                kind,
                program_setting=program_settings.get(kind),
                participant_setting=participant_settings.get(kind),
            ),
            own=own.get(kind),
        )
        for kind, label in AlertKind.choices
    ]


def _save(
    request: HttpRequest, user: User, *, program: Program | None, participant: Participant | None
) -> RuleForm:
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            alert_rule_setting_save(
                user=user,
                kind=form.cleaned_data["kind"],
                values=form.values(),
                program=program,
                participant=participant,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
    return form


def first_kept_page(
    kept: Sequence[Program] | Sequence[Office], to: str, *, refusal: str
) -> HttpResponse:
    """The landing of a configuration section (rules, notifications, on-call rota): the
    first program or office the user keeps, one for a supervisor and all for an
    administrator; refused, saying who keeps them, for anyone else."""
    if not kept:
        raise PermissionDenied(refusal)
    return redirect(to, pk=kept[0].pk)


def kept_or_refused(
    user: User,
    model: type[Kept],
    pk: int,
    may_keep: Callable[[User, Kept], bool],
    *,
    refusal: str,
) -> Kept:
    """One configuration page's program or office (404 when there is none), refused unless
    the user keeps it by the same predicate the services check."""
    kept = get_object_or_404(model, pk=pk)
    if not may_keep(user, kept):
        raise PermissionDenied(refusal)
    return kept


def _editable_programs(user: User) -> list[Program]:
    if user.is_active and user.role == Role.ADMINISTRATOR:
        return list(Program.objects.order_by("name"))
    if user.is_active and user.role == Role.SUPERVISOR and user.office is not None:
        return [user.office.program]
    return []


@login_required
def program_rules_home(request: HttpRequest) -> HttpResponse:
    """The signed-in supervisor's program, or the administrator's first one."""
    return first_kept_page(
        _editable_programs(staff_user(request)),
        "alerts:program_rules",
        refusal="Only supervisors and administrators set alert rules.",
    )


@login_required
def program_rules(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    program = kept_or_refused(
        user,
        Program,
        pk,
        program_rules_editable_by,
        refusal="Only the program's supervisors and administrators see its rules.",
    )
    form: RuleForm | None = None
    if request.method == "POST":
        form = _save(request, user, program=program, participant=None)
        if not form.errors:
            messages.success(request, "Rule saved.")
            return redirect("alerts:program_rules", pk=program.pk)
    return render(
        request,
        "alerts/rules.html",
        {
            "program": program,
            "participant": None,
            "programs": _editable_programs(user),
            "rows": _rows(program, None),
            "form": form,
            "priorities": Priority.choices,
        },
    )


@login_required
def participant_rules(request: HttpRequest, pk: int) -> HttpResponse:
    """A participant's overrides: their officer and supervisor (whoever may write the
    participant) see and change them; nobody else learns the person is enrolled (404)."""
    user = staff_user(request)
    participant = participant_read(request, pk, what="alert rules")
    if not can_write_participant(user, participant):
        raise PermissionDenied("Only the participant's officer or supervisor sets their rules.")
    form: RuleForm | None = None
    if request.method == "POST":
        form = _save(request, user, program=None, participant=participant)
        if not form.errors:
            messages.success(request, "Override saved.")
            return redirect("alerts:participant_rules", pk=participant.pk)
    return render(
        request,
        "alerts/rules.html",
        {
            "program": participant.program,
            "participant": participant,
            "programs": [],
            "rows": _rows(participant.program, participant),
            "form": form,
            "priorities": Priority.choices,
        },
    )


# --- staff notifications ------------------------------------------------------------------


class NotificationRuleForm(forms.Form):
    min_priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)
    channel = forms.ChoiceField(choices=NotifyChannel.choices)
    recipient = forms.ChoiceField(choices=NotifyRecipient.choices)
    address = forms.CharField(required=False, max_length=254)


def editable_offices(user: User) -> list[Office]:
    """The offices whose notifications and on-call rota this user keeps."""
    if user.is_active and user.role == Role.ADMINISTRATOR:
        return list(Office.objects.select_related("program").order_by("name"))
    if user.is_active and user.role == Role.SUPERVISOR and user.office is not None:
        return [user.office]
    return []


@login_required
def notifications_home(request: HttpRequest) -> HttpResponse:
    return first_kept_page(
        editable_offices(staff_user(request)),
        "alerts:notifications",
        refusal="Only supervisors and administrators set staff notifications.",
    )


@login_required
def notifications(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    office = kept_or_refused(
        user,
        Office,
        pk,
        notification_rules_editable_by,
        refusal="Only the office's supervisors and administrators see this.",
    )
    form = NotificationRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = notification_rule_create(user=user, office=office, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            problems = notification_rule_problems(rule)
            if problems:
                messages.warning(
                    request,
                    "Notification added, but it cannot be delivered to everyone it names: "
                    + "; ".join(str(p) for p in problems)
                    + ".",
                )
            else:
                messages.success(request, "Notification added.")
            return redirect("alerts:notifications", pk=office.pk)
    rules = [
        (rule, notification_rule_problems(rule))
        for rule in NotificationRule.objects.filter(office=office)
    ]
    return render(
        request,
        "alerts/notifications.html",
        {
            "office": office,
            "offices": editable_offices(user),
            "rules": rules,
            "form": form,
        },
    )


@login_required
@require_POST
def notification_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    rule = get_object_or_404(NotificationRule.objects.select_related("office"), pk=pk)
    office_id = rule.office_id
    notification_rule_delete(user=user, rule=rule)
    messages.success(request, "Notification removed.")
    return redirect("alerts:notifications", pk=office_id)
