"""Django's own words that portal pages show: day and month names (the date filter) and
the "required" form error. Django ships no Haitian Creole catalog, so these would stay in
English on "ht" pages; listing them here puts them in the portal's catalog, which Django
reads like its own."""

from django.utils.translation import gettext_noop

DJANGO_WORDS = (
    gettext_noop("This field is required."),
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
