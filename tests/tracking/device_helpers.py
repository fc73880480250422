"""Register devices through the tracking services, as an administrator would."""

from __future__ import annotations

from typing import Any

from ontrack.accounts.actors import SYSTEM


def register_device(identifier: str, protocol: str, **fields: Any) -> Any:
    from ontrack.tracking.services.devices import device_register

    kind = "phone" if protocol in ("osmand", "mqtt") else "ankle"
    return device_register(
        actor=SYSTEM, identifier=identifier, protocol=protocol, kind=kind, **fields
    )
