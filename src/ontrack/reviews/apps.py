"""Review and step-down of supervision: a queue of plans due for review and participants'
own requests, each with a proposal from the compliance record, decided by a supervisor."""

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "ontrack.reviews"
    label = "reviews"
    verbose_name = "Supervision reviews"

    def ready(self) -> None:
        """Put reviews on the participant's timeline (participants sits below reviews)."""
        from ontrack.reviews import timeline_sources

        timeline_sources.register()
