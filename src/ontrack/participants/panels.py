"""Extra sections of the participant page contributed by apps above participants.

Participants must not import the apps that build on it (tracking, schedule...), yet the
participant page should show their panels. Those apps register a template here from their
``AppConfig.ready()``; ``participants/detail.html`` includes each one with the page's
context (``p`` is the participant, ``can_write`` whether the viewer may change the case).
"""

from __future__ import annotations

_panels: list[str] = []


def register_panel(template_name: str) -> None:
    """Include ``template_name`` on every participant page (once, in registration order)."""
    if template_name not in _panels:
        _panels.append(template_name)


def registered_panels() -> tuple[str, ...]:
    return tuple(_panels)
