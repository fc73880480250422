"""``ontrack manage second_factor_reset USERNAME``: the way back in when no other
administrator can reset someone's second factor in the console (the only administrator lost
their phone and recovery codes). Whoever runs it already holds the server; the reset is
recorded like one made in the console, by "command line"."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ontrack.accounts.actors import SystemActor
from ontrack.accounts.models import User
from ontrack.accounts.second_factor import second_factor_reset


class Command(BaseCommand):
    help = "Remove a staff member's second factor; they set up a new one at the next sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no staff member is called {options['username']!r}")
        removed = second_factor_reset(actor=SystemActor("command line"), user=user)
        self.stdout.write(
            f"{user.username}: second factor reset ({', '.join(removed) or 'none was set up'} "
            "removed); a new one is set up at the next sign-in."
        )
