"""Times as the site shows them: in its time zone (Pelican's ``TIMEZONE``,
which the build writes into the site index), with the zone named, on the
app's pages, in the CLI and in mail alike.

A time without its zone is misread by anyone who is not where the site is
(and by a command run on a server set to UTC): "01:42" could be two hours
either way. The zone is named by its abbreviation in the time zone database
(CET, CEST, EST) or, for a zone the database gives only a number (``-03``
for America/Sao_Paulo), by its offset: UTC-03:00. A page also carries the
moment in UTC in ``<time datetime>``, for the reader's own software.

Imports without Flask; the callers pass the zone's name
(``site_index().current().timezone``).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from .i18n import date_and_time, zone_label


def zone(name: str) -> tzinfo:
    """Return the time zone ``name`` (UTC if it is unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local(moment: datetime, zone_name: str) -> datetime:
    """Return ``moment`` (aware) in the zone ``zone_name``."""
    return moment.astimezone(zone(zone_name))


def machine_time(moment: datetime) -> str:
    """The moment for ``<time datetime>``, in UTC: ``2026-12-07T00:42:00Z``."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def short_time(moment: datetime, zone_name: str) -> str:
    """A time as a command prints it: ``2026-12-07 01:42 CET``."""
    here = local(moment, zone_name)
    return f"{here:%Y-%m-%d %H:%M} {zone_label(here)}"


def long_time(moment: datetime, zone_name: str, lang: str) -> str:
    """A time in words, as the pages write it, in ``lang``:
    ``7 December 2026 at 01:42 CET``, ``7 décembre 2026 à 01:42 CET``."""
    here = local(moment, zone_name)
    return date_and_time(here, lang, zone_label(here))


def time_element(moment: datetime, zone_name: str, lang: str) -> Markup:
    """The ``<time>`` element of a page: the moment in UTC for software, in
    the site's zone and in words for the reader."""
    return Markup('<time datetime="{}">{}</time>').format(
        machine_time(moment), escape(long_time(moment, zone_name, lang))
    )
