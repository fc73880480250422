"""The compliance report (``reports.compliance``) typeset as a PDF with Typst.

The layout is the Typst template ``templates/reports/compliance.typ``; this module hands it
one JSON document (``sys.inputs.data``) of ready-made strings and the two SVG drawings, so
the template holds no logic and no record text is ever read as Typst markup. Times are on
the office's clock with the zone's abbreviation. Only the fonts embedded in the typst
package are used, so the same report prints the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typst

from ontrack.accounts.templatetags.office_time import office_date, office_time
from ontrack.reports.compliance import ComplianceReport
from ontrack.reports.compliance_drawings import track_map_svg, weekly_compliance_svg
from ontrack.reports.dashboard import Table

TEMPLATE = Path(__file__).parent / "templates" / "reports" / "compliance.typ"
MODALITY_NAMES = {
    "app": "app check-ins",
    "phone": "phone check-ins",
    "office": "office visits",
    "gps": "GPS device",
}


def _is_count(cell: Any) -> bool:
    """A number or a share (``50.0 %``, ``–``): set flush right."""
    return isinstance(cell, int | float) or str(cell).endswith("%") or cell == "–"


def table_data(table: Table) -> dict[str, Any]:
    """A dashboard table as the Typst templates print it (``counts`` in each template)."""
    return {
        "title": table.title,
        "columns": table.columns,
        "numeric": [
            index > 0 and all(_is_count(row[index]) for row in table.rows)
            for index in range(len(table.columns))
        ],
        "rows": [[str(cell) for cell in row] for row in table.rows],
        "total": [str(cell) for cell in table.total] if table.total else None,
        "note": table.note,
    }


def report_data(report: ComplianceReport) -> dict[str, Any]:
    """Everything the template prints, as strings."""
    zone = report.time_zone
    person = report.participant

    def when(at: dt.datetime | None) -> str:
        return office_time(at, zone) if at else ""

    return {
        "person": {
            "name": person.full_name,
            "case_number": person.case_number,
            "date_of_birth": f"{person.date_of_birth:%Y-%m-%d}" if person.date_of_birth else "",
            "office": person.office.name,
            "officer": str(person.officer) if person.officer else "",
            "status": person.get_status_display(),
        },
        "period": f"{report.first_day:%Y-%m-%d} to {report.last_day:%Y-%m-%d}",
        "time_zone": zone,
        "as_of": when(report.scope.as_of),
        "plans": [
            {
                "level": plan.level,
                "modalities": ", ".join(MODALITY_NAMES.get(m, m) for m in plan.modalities),
                "from": when(plan.effective_from),
                "to": when(plan.effective_to) or "in force",
                "reason": plan.reason,
                "by": plan.changed_by,
            }
            for plan in report.plans
        ],
        "checkins": table_data(report.checkins),
        "hearings": table_data(report.hearings),
        "alert_outcomes": table_data(report.alert_outcomes),
        "alerts": [
            {
                "occurred": when(line.occurred_at),
                "kind": line.kind,
                "priority": line.priority,
                "outcome": line.outcome,
                "decided_by": line.decided_by,
                "decided_at": when(line.decided_at),
                "note": line.note,
            }
            for line in report.alerts
        ],
        "map_svg": track_map_svg(report.track, report.zones, title="Track and zones"),
        "track_fixes": report.track_fixes,
        "track_drawn": len(report.track),
        "zones": [str(feature["properties"]["name"]) for feature in report.zones],
        "chart_svg": weekly_compliance_svg(
            [(f"{week.first_day:%m-%d}", week.counts) for week in report.weeks],
            title="Check-ins by week",
        ),
        "prepared_by": report.prepared_by,
        "prepared_on": office_date(report.prepared_at, zone),
        "prepared_at": when(report.prepared_at),
    }


def compliance_pdf(report: ComplianceReport) -> bytes:
    """The report as PDF bytes."""
    data = json.dumps(report_data(report))
    return typst.compile(
        TEMPLATE.read_bytes(),
        ignore_system_fonts=True,
        sys_inputs={"data": data},
        timestamp=int(report.prepared_at.timestamp()),
    )
