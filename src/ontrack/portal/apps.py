"""The participant's own mobile pages: sign-in, obligations, check-in, requests, their data."""

from django.apps import AppConfig

# Django ships no locale information for Haitian Creole; without it ``get_language_info``
# (the language switcher, ``{% get_language_info %}``) fails for "ht".
HAITIAN_CREOLE_INFO = {
    "bidi": False,
    "code": "ht",
    "name": "Haitian Creole",
    "name_local": "Kreyòl ayisyen",
}


class PortalConfig(AppConfig):
    name = "ontrack.portal"
    label = "portal"
    verbose_name = "Participant portal"

    def ready(self) -> None:
        from django.conf.locale import LANG_INFO

        from ontrack.messaging.reply_handlers import register_reply_handler
        from ontrack.participants.panels import register_panel
        from ontrack.portal.phone_checkin import pin_reply

        LANG_INFO.setdefault("ht", HAITIAN_CREOLE_INFO)
        register_panel("portal/panel.html")
        register_reply_handler("pin", pin_reply)
