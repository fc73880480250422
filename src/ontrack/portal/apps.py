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
        from importlib.util import find_spec

        from django.conf.locale import LANG_INFO

        from ontrack.participants.panels import register_panel

        LANG_INFO.setdefault("ht", HAITIAN_CREOLE_INFO)
        register_panel("portal/panel.html")
        # Phone check-in needs messaging's inbound registry; a deployment (or a checkout)
        # without it still serves the portal's pages.
        if find_spec("ontrack.messaging.inbound") is not None:
            from ontrack.messaging.inbound import register_reply_handler
            from ontrack.portal.inbound import pin_reply

            register_reply_handler("pin", pin_reply)
