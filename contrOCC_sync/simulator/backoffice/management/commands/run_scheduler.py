"""`run_scheduler`: the backoffice-scheduler process. Looks at the clock every --interval seconds and runs
the week's payment run once it is due (BACKOFFICE_PAYMENT_WEEKDAY after BACKOFFICE_PAYMENT_TIME, London),
once a week (the database refuses a second). It follows PORTAL_CLOCK_OFFSET_FILE like every process, and
stops cleanly on SIGTERM or SIGINT, between ticks or after the tick in progress."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from ....conf import settings
from ...services.payments import scheduler_tick

logger = logging.getLogger(__name__)


def scheduler_loop(*, stop: threading.Event, interval: float) -> int:
    """Tick until `stop` is set; returns how many runs it made. A failing tick is logged and retried."""
    runs = 0
    while not stop.is_set():
        try:
            result = scheduler_tick()
        except Exception:
            logger.exception("The scheduled payment run failed; trying again at the next tick")
            result = None
        finally:
            close_old_connections()
        if result is not None:
            runs += 1
            logger.info(
                "Payment run %s for the week of %s: %s items, %s paid",
                result.run.ref,
                result.run.week_of,
                result.run.items,
                result.run.total,
            )
        stop.wait(interval)
    return runs


class Command(BaseCommand):
    help = "Run the back office's weekly payment run when it is due; stop on SIGTERM or SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between looks at the clock (default: BACKOFFICE_SCHEDULER_INTERVAL, 30).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        interval = options["interval"] or settings.BACKOFFICE_SCHEDULER_INTERVAL
        self.stdout.write(
            f"backoffice-scheduler: started (a look at the clock every {interval:g}s)", ending="\n"
        )
        self.stdout.flush()
        runs = scheduler_loop(stop=stop, interval=interval)
        self.stdout.write(f"backoffice-scheduler: stopped after {runs} payment run(s)")
