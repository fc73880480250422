"""The zone editor form: the map fills ``geometry``; ``import_text`` takes pasted GeoJSON or
WKT instead; the schedule is typed as lines such as ``Mon-Fri 20:00-06:00``."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from ontrack.zones.models import Zone, ZoneKind
from ontrack.zones.services import ZoneData, geometry_parse

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LINE = re.compile(
    r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$"
)


def schedule_parse(text: str) -> list[dict[str, Any]]:
    """``Mon-Fri 20:00-06:00`` lines into the stored interval list (an end at or before
    the start runs past midnight)."""
    out = []
    for line in filter(None, (raw.strip().lower() for raw in text.splitlines())):
        match = _LINE.match(line)
        if not match or match[1] not in DAY_NAMES or (match[2] and match[2] not in DAY_NAMES):
            raise ValidationError(f"Cannot read {line!r}: write e.g. 'Mon-Fri 20:00-06:00'.")
        first = DAY_NAMES.index(match[1])
        last = DAY_NAMES.index(match[2]) if match[2] else first
        days = [d % 7 for d in range(first, last + 1 if last >= first else last + 8)]
        out.append({"days": days, "start": match[3], "end": match[4]})
    return out


def schedule_format(schedule: list[dict[str, Any]]) -> str:
    lines = []
    for item in schedule:
        days = item["days"]
        span = DAY_NAMES[days[0]].title()
        if len(days) > 1:
            span += "-" + DAY_NAMES[days[-1]].title()
        lines.append(f"{span} {item['start']}-{item['end']}")
    return "\n".join(lines)


class ZoneForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=ZoneKind.choices)
    buffer_m = forms.FloatField(label="Buffer (m)", min_value=0, initial=0)
    consecutive_fixes = forms.IntegerField(
        label="Fixes in a row",
        required=False,
        min_value=1,
        max_value=20,
        help_text="Wrong-side fixes in a row that count when none is wholly on the wrong side "
        "(empty: the default).",
    )
    schedule = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Empty: always. One line per interval in the participant's local time, "
        "e.g. 'Mon-Fri 20:00-06:00'.",
    )
    geometry = forms.CharField(required=False, widget=forms.HiddenInput)
    import_text = forms.CharField(
        label="Or paste GeoJSON / WKT",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @classmethod
    def for_zone(cls, zone: Zone) -> ZoneForm:
        return cls(
            initial={
                "name": zone.name,
                "kind": zone.kind,
                "buffer_m": zone.buffer_m,
                "consecutive_fixes": zone.consecutive_fixes,
                "schedule": schedule_format(zone.schedule),
                "geometry": json.dumps(zone.geometry),
            }
        )

    def clean_schedule(self) -> list[dict[str, Any]]:
        return schedule_parse(self.cleaned_data["schedule"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pasted = (data.get("import_text") or "").strip()
        if pasted:
            try:
                data["geometry"] = geometry_parse(pasted)
            except ValidationError as exc:
                self.add_error("import_text", exc.messages)
        elif data.get("geometry"):
            try:
                data["geometry"] = json.loads(data["geometry"])
            except json.JSONDecodeError:
                self.add_error(None, "The drawn shape could not be read.")
        else:
            self.add_error(None, "Draw the zone on the map or paste its GeoJSON / WKT.")
        return data

    def zone_data(self) -> ZoneData:
        d = self.cleaned_data
        return ZoneData(
            name=d["name"],
            kind=d["kind"],
            geometry=d["geometry"],
            buffer_m=d["buffer_m"],
            schedule=d["schedule"],
            consecutive_fixes=d.get("consecutive_fixes"),
        )
