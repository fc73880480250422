from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "ontrack.participants"
    label = "participants"
    verbose_name = "Participants and cases"
