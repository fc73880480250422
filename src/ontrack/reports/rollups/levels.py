"""Which roll-up rows hold exactly the people a reader's dashboard counts."""

from __future__ import annotations

from collections.abc import Mapping

from ontrack.accounts.models import User
from ontrack.participants.queries import ROLE_SCOPE, Scope
from ontrack.reports.dashboard import DashboardScope
from ontrack.reports.models import RollupLevel

# A participant's assignment as the roll-ups key it: program, office and officer ids.
Assignment = Mapping[str, int | None]


def readable(user: User, scope: DashboardScope) -> tuple[str, dict[str, int]] | None:
    """The roll-up level, and the assignment its rows must have (``program_id``,
    ``office_id``, ``officer_id``, each only when fixed), that hold exactly the people
    ``participants_in_scope`` gives (visible to ``user``, narrowed by the scope), or None
    when that is nobody."""
    reach = ROLE_SCOPE.get(user.role, Scope.NONE)
    if not user.is_authenticated or not user.reads_participants or reach == Scope.NONE:
        return None
    if reach == Scope.OFFICE and user.office_id is None:
        return None
    offices = {v for v in (scope.office_id, user.office_id if reach == Scope.OFFICE else None) if v}
    officers = {v for v in (scope.officer_id, user.pk if reach == Scope.CASELOAD else None) if v}
    if len(offices) > 1 or len(officers) > 1:
        return None
    rows: dict[str, int] = {"program_id": scope.program_id} if scope.program_id else {}
    if offices:
        rows["office_id"] = next(iter(offices))
    if officers:
        rows["officer_id"] = next(iter(officers))
    level = (
        RollupLevel.OFFICER if officers else RollupLevel.OFFICE if offices else RollupLevel.PROGRAM
    )
    return level, rows


def assigned(assignment: Assignment, rows: Mapping[str, int]) -> bool:
    """Whether a participant assigned so is among ``readable``'s ``rows``."""
    return all(assignment[name] == value for name, value in rows.items())
