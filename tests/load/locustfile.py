"""The Tuesday peak, as locust users (issue 10): each takes one provider's login from a queue, signs in
once (password, then the six-digit code), then works through its unconfirmed weeks; once they are
confirmed it keeps reading. `tests/load/run.py` starts this with `make load`; it is not meant to be run by
hand against anything but the stack run.py starts on 127.0.0.1.

One week's work at a person's pace: reading a page before the next action takes LOAD_THINK ("2,6"
seconds, uniform), filling in a line's form LOAD_TYPING ("6,14"):

    checklist (GET /)  →  the week (GET /actuals/<week>/)
    three times: open a line in place (GET …/lines/<pk>/, htmx)  →  save it (POST, htmx)
    claim form (GET …/claim-form.xlsx)  →  the declaration (GET …/confirm/)
    confirm (POST …/confirm/, declaration=on)  →  scheduled payments (GET /payments/scheduled/, the redirect)

then, with every week confirmed, reading over and over: checklist, scheduled payments, remittance advice
(GET /payments/remittances/) and the newest remittance on it (the data set paid each provider one week).

LOAD_MODE=knee runs the same week's work without the confirm POST (each user goes round its two weeks
again and again, so the mix of pages stays the same while users are added), in steps of users
(LOAD_KNEE_STEPS, "200:25,400:35,600:35,800:35": users:seconds). It leaves the weeks unconfirmed and clean
(each save toggles a line between its plan and one step frustrated with a comment, or changes only the
comment, so no line ever breaks a rule). A step with more users than providers signs in the providers' colleagues
(the data set's `--colleagues`: other people in the same offices, each with a login and authenticator of
their own): the n-th person of a provider amends only every n-th line of the week, so two never save the
same line.

The stack runs the production settings: its cookies are Secure and named __Host-…, and it takes a request
as HTTPS from the proxy's X-Forwarded-Proto. Here the client plays the TLS-terminating proxy: it sends
that header, X-Forwarded-For with the user's own address (TRUSTED_PROXY_COUNT=1), an Origin and Referer on
every POST (as a browser does), and keeps Secure cookies over loopback HTTP.

Every request is recorded (end time, name, milliseconds, success, error) and written to LOAD_RESULTS as
JSON when locust quits; run.py computes the percentiles, the throughput and the knee from that.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import gevent
from gevent.queue import Empty, Queue
from locust import HttpUser, LoadTestShape, events, task
from locust.exception import StopUser

from tests.load.logins import current_code, seconds_to_next_step

DATA = json.loads(Path(os.environ["LOAD_LOGINS"]).read_text())
MODE = os.environ.get("LOAD_MODE", "cycle")


def _seconds(text: str) -> tuple[float, float]:
    low, high = (float(part) for part in text.split(","))
    return low, high


THINK = _seconds(os.environ.get("LOAD_THINK", "2,6"))
TYPING = _seconds(os.environ.get("LOAD_TYPING", "6,14"))
KNEE_STEPS = [
    (int(users), float(seconds))
    for users, seconds in (
        part.split(":")
        for part in os.environ.get("LOAD_KNEE_STEPS", "200:25,400:35,600:35,800:35").split(",")
    )
]
RESULTS = os.environ.get("LOAD_RESULTS", "")
LINES_TO_AMEND = 3

# People of each provider: one, but in the knee's steps with more users than providers, as many as needed.
SESSIONS = max(1, -(-max(users for users, _ in KNEE_STEPS) // len(DATA["logins"]))) if MODE == "knee" else 1
LOGINS: Queue[tuple[str, dict[str, str], int]] = Queue()
for session in range(SESSIONS):
    for index, provider_login in enumerate(DATA["logins"]):
        # The provider's user first; in the knee beyond 200 users, its colleagues.
        login = (
            provider_login
            if session == 0
            else {**provider_login, **provider_login["colleagues"][session - 1]}
        )
        # Each provider signs in from an address of its own, as 200 offices would: the client, standing
        # where the TLS proxy would, puts it in X-Forwarded-For (the stack trusts one proxy). Documentation
        # ranges (RFC 5737), written in a header only: nothing is ever sent to them.
        network, host = divmod(index, 254)
        LOGINS.put((f"{('198.51.100', '203.0.113', '192.0.2')[network % 3]}.{host + 1}", login, session))

RECORDS: list[tuple[float, str, float, bool, str]] = []


@events.request.add_listener
def _record(name: str, response_time: float, exception: BaseException | None, **_: Any) -> None:
    RECORDS.append((time.time(), name, response_time, exception is None, str(exception or "")[:300]))


@events.quitting.add_listener
def _write_results(**_: Any) -> None:
    if RESULTS:
        Path(RESULTS).write_text(
            json.dumps({"mode": MODE, "think": THINK, "typing": TYPING, "records": RECORDS})
        )


REMITTANCE_LINK = re.compile(r'href="(/payments/remittances/[^/"]+/)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INPUT = re.compile(r'<input[^>]*\bname="([a-z_]+)"[^>]*\bvalue="([^"]*)"')
COMMENT = re.compile(r'<textarea[^>]*\bname="comment"[^>]*>(.*?)</textarea>', re.S)
UNIT = re.compile(r"Delivered \((\w+)\) for")
QUANTITIES = ("delivered", "frustrated", "missed", "extra")


def _hidden(text: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', text)
    return found.group(1) if found else ""


def _csrf(text: str) -> str:
    found = CSRF.search(text)
    if not found:
        raise ValueError("no CSRF token on the page")
    return found.group(1)


def _step(unit: str) -> Decimal:
    """The council's steps: hours in quarters, everything else (sessions, nights, trips, meals) whole."""
    return Decimal("0.25") if unit == "hours" else Decimal("1")


def amended_values(form: dict[str, str], comment: str, unit: str, stamp: str) -> dict[str, str]:
    """What the provider types: back to plan if a step was frustrated last time; else one step of the
    delivered quantity frustrated (never more than half the plan), with a comment; else a new comment."""
    values = dict(form)
    step = _step(unit)
    delivered, frustrated = Decimal(form["delivered"]), Decimal(form["frustrated"])
    if frustrated > 0:
        values["delivered"], values["frustrated"] = str(delivered + frustrated), "0"
        values["comment"] = "Back to the plan: the visit was made up later in the week."
    elif delivered >= 2 * step:
        values["delivered"], values["frustrated"] = str(delivered - step), str(step)
        values["comment"] = "One visit cancelled at short notice by the family."
    else:
        values["comment"] = f"Checked against the rota ({stamp})."
    return values


class Provider(HttpUser):
    """One provider user: its own login (from the queue), its weeks, then reading."""

    def wait_time(self) -> float:
        return random.uniform(*THINK)

    def on_start(self) -> None:
        try:
            address, self.login, self.session = LOGINS.get_nowait()
        except Empty:
            raise StopUser() from None  # more users than logins: this one does nothing
        self.client.headers["X-Forwarded-Proto"] = "https"
        self.client.headers["X-Forwarded-For"] = address
        send = self.client.request

        def request(*args: Any, **kwargs: Any) -> Any:
            # Secure cookies go back over http://127.0.0.1 too: the client stands where the TLS proxy
            # would. (requests copies the jar before choosing cookies, so a cookie policy cannot do it.)
            for cookie in self.client.cookies:
                cookie.secure = False
            return send(*args, **kwargs)

        self.client.request = request  # type: ignore[method-assign]
        self.origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        self.open_weeks = list(DATA["weeks"])
        self.turn = 0
        self.sign_in()

    def post(self, url: str, data: dict[str, str], *, name: str, **kwargs: Any) -> Any:
        headers = {"Origin": self.origin, "Referer": self.origin + url, **kwargs.pop("headers", {})}
        return self.client.post(url, data=data, name=name, headers=headers, **kwargs)

    # Signing in, once -------------------------------------------------------------------------

    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="sign-in: login page")
        with self.post(
            "/accounts/login/",
            {
                "login": self.login["email"],
                "password": DATA["password"],
                "csrfmiddlewaretoken": _csrf(page.text),
            },
            name="sign-in: password",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"password refused ({answer.status_code})")
                raise StopUser()
        code_page = self.client.get("/accounts/code/?next=/", name="sign-in: code page")
        for attempt in (1, 2):
            with self.post(
                "/accounts/code/",
                {
                    "code": current_code(self.login["key"]),
                    "next": "/",
                    "csrfmiddlewaretoken": _csrf(code_page.text),
                },
                name="sign-in: code",
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                if answer.status_code == 302:
                    return
                answer.failure(f"code refused ({answer.status_code}), attempt {attempt}")
            # A code already used in this 30-second step (an earlier run's sign-in) is refused: the
            # next step's code is new. django-otp's throttle after one failure is a second.
            gevent.sleep(seconds_to_next_step() + 1)
        raise StopUser()

    # The work ---------------------------------------------------------------------------------

    @task
    def next_thing(self) -> None:
        if MODE == "knee":
            week = DATA["weeks"][self.turn % len(DATA["weeks"])]
            self.turn += 1
            self.week_work(week, confirm=False)
        elif self.open_weeks:
            self.week_work(self.open_weeks[0], confirm=True)
        else:
            self.read()

    def check(self, url: str, *, name: str, expect: str = "", **kwargs: Any) -> Any:
        with self.client.get(url, name=name, catch_response=True, **kwargs) as page:
            if page.status_code != 200:
                page.failure(f"{page.status_code}")
            elif expect and expect not in page.text:
                page.failure(f"{expect!r} not on the page")
            return page

    def week_work(self, week: str, *, confirm: bool) -> None:
        week_url = f"/actuals/{week}/"
        self.check("/", name="checklist", expect=week_url)
        self.wait()
        page = self.check(week_url, name="week", expect='data-testid="actual-line"')
        line_ids = sorted(set(re.findall(rf"{re.escape(week_url)}lines/(\d+)/", page.text)))
        mine = line_ids[self.session :: SESSIONS]  # every line, but for a provider with colleagues in
        if len(mine) < LINES_TO_AMEND:
            return
        for line_id in random.sample(mine, LINES_TO_AMEND):
            self.wait()
            self.amend(week_url, line_id)
        self.wait()
        with self.client.get(f"{week_url}claim-form.xlsx", name="claim form", catch_response=True) as sheet:
            if sheet.status_code != 200 or not sheet.content.startswith(b"PK"):
                sheet.failure(f"{sheet.status_code}: not a workbook")
        self.wait()
        declaration = self.check(f"{week_url}confirm/", name="confirm page", expect='name="declaration"')
        if not confirm:
            self.wait()
            return
        self.wait()
        with self.post(
            f"{week_url}confirm/",
            {
                "declaration": "on",
                "seen": _hidden(declaration.text, "seen"),
                "csrfmiddlewaretoken": _csrf(declaration.text),
            },
            name="confirm",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302 or not answer.headers.get("Location", "").endswith(
                "/payments/scheduled/"
            ):
                problem = re.search(r'govuk-error-message"[^>]*>(.*?)</', answer.text, re.S)
                answer.failure(
                    f"{answer.status_code}: {problem.group(1).strip() if problem else 'not confirmed'}"
                )
                self.open_weeks.remove(week)  # not again: the report lists it as an error
                return
        self.open_weeks.remove(week)
        self.check("/payments/scheduled/", name="scheduled payments", expect="confirmed")
        self.wait()

    def amend(self, week_url: str, line_id: str) -> None:
        url = f"{week_url}lines/{line_id}/"
        htmx = {"HX-Request": "true", "HX-Current-URL": self.origin + week_url}
        row = self.check(url, name="line: open", expect="line-form-", headers=htmx)
        if row.status_code != 200:
            return
        form = dict(INPUT.findall(row.text))
        comment = COMMENT.search(row.text)
        unit = UNIT.search(row.text)
        if not form.get("revision") or "delivered" not in form:
            return
        data = amended_values(
            {
                name: value
                for name, value in form.items()
                if name in (*QUANTITIES, "adjustment_form_ref", "revision")
            },
            comment.group(1) if comment else "",
            unit.group(1) if unit else "hours",
            time.strftime("%H:%M:%S"),
        )
        data["csrfmiddlewaretoken"] = _csrf(row.text)
        gevent.sleep(random.uniform(*TYPING))
        with self.post(url, data, name="line: save", headers=htmx, catch_response=True) as saved:
            if saved.status_code != 200 or 'data-testid="actual-line"' not in saved.text:
                problem = re.search(
                    r'govuk-error-message"[^>]*>(?:<span[^>]*>Error:</span>)?(.*?)</', saved.text, re.S
                )
                saved.failure(f"{saved.status_code}: {problem.group(1).strip() if problem else 'not saved'}")

    def read(self) -> None:
        self.check("/", name="checklist")
        self.wait()
        self.check("/payments/scheduled/", name="scheduled payments")
        self.wait()
        with self.client.get("/payments/remittances/", name="remittances", catch_response=True) as page:
            newest = REMITTANCE_LINK.search(page.text)  # the data set paid every provider once
            if page.status_code != 200 or newest is None:
                page.failure(f"{page.status_code}: no remittance on remittance advice")
                return
        self.wait()
        self.check(newest.group(1), name="remittance", expect='data-testid="remittance-line"')
        self.wait()


if MODE == "knee":

    class Steps(LoadTestShape):
        """Users in steps (LOAD_KNEE_STEPS), added at 10 a second; stops after the last step."""

        steps = KNEE_STEPS

        def tick(self) -> tuple[int, float] | None:
            elapsed = self.get_run_time()
            for users, seconds in self.steps:
                if elapsed < seconds:
                    return users, 10
                elapsed -= seconds
            return None
