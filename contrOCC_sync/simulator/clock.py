"""The one place the back office asks for the time.

The same contract as the portal's clock, kept separate so the simulator imports nothing of the portal:
in-process tests move it with time-machine; a running simulator follows the offset in seconds in the
file named by PORTAL_CLOCK_OFFSET_FILE, read at every call, so a test moves both processes' clocks by
writing one file. Production settings refuse that variable.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path

from django.utils import timezone

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _offset() -> dt.timedelta:
    path = os.environ.get("PORTAL_CLOCK_OFFSET_FILE")
    if not path:
        return dt.timedelta(0)
    try:
        return dt.timedelta(seconds=float(Path(path).read_text().strip() or 0))
    except (FileNotFoundError, ValueError):
        return dt.timedelta(0)


def now() -> dt.datetime:
    """The current moment, aware, in UTC."""
    return timezone.now() + _offset()


def today() -> dt.date:
    """Today's date in Europe/London."""
    return now().astimezone(LONDON).date()
