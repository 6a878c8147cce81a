"""Page benchmarks: the care package lines pages of the `large` council's biggest provider (PRV00001,
2,400 lines), each against a bare page through the same middleware with the same session.

Requests go through Django's test Client: the whole middleware stack, URL resolution, the view, its
queries on PostgreSQL and the template, in this process. No HTTP server, no network: those cost the
same for every page and belong to the load test. Django's test instrumentation (`setup_test_environment`)
is not installed, so templates render as they do in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User
from tests.benchmarks.harness import Goal, Samples, benchmark, time_against_floor
from tests.benchmarks.urls import BARE_PAGE_HEADING, BARE_PAGE_PATH

PROVIDER_USER = "provider.user@demo.example.org"  # acts for PRV00001, the biggest provider
FINANCE_OFFICER = "finance@demo.example.org"
BIGGEST_PROVIDER = "PRV00001"
MIN_LINES = 2_000
PAGE_SIZE = 50

PAGE_GOAL = Goal(
    3, source="issue 6: “a page of it renders within 3× of a bare page through the same middleware”"
)
BARE_PAGE_FLOOR = (
    "a bare page: the portal's layout with one heading, from a trivial view, through the same "
    "middleware with the same signed-in, code-verified session"
)

_ROW = re.compile(rb'data-testid="line-row"')
_COUNT = re.compile(rb'data-testid="result-count">(\d+)<')


def verified_client(email: str) -> Client:
    """A client signed in with the password and the code, as tests/conftest.py's `client_for` makes one
    (not imported from there: pytest, factory-boy and Faker would swell this process's memory)."""
    user = User.objects.get(email=email)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    assert device is not None, f"{email} has no security code: was the council seeded?"
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _get(client: Client, url: str) -> Callable[[], None]:
    def fetch() -> None:
        response = client.get(url)
        if response.status_code != 200:  # a redirect to sign in would be timed as a fast page
            raise AssertionError(f"{url} answered {response.status_code}, not 200")

    return fetch


def _page_against_bare_page(
    *, email: str, url: str, repetitions: int, min_lines: int = MIN_LINES, row_marker: bytes = b""
) -> Samples:
    with override_settings(ROOT_URLCONF="tests.benchmarks.urls"):
        client = verified_client(email)
        page = client.get(url)
        bare = client.get(BARE_PAGE_PATH)
        assert page.status_code == 200, f"{url} answered {page.status_code}"
        assert bare.status_code == 200 and BARE_PAGE_HEADING.encode() in bare.content
        count = _COUNT.search(page.content)
        rows = (
            len(re.findall(re.escape(row_marker), page.content))
            if row_marker
            else len(_ROW.findall(page.content))
        )
        assert count is not None and int(count.group(1)) >= min_lines, f"fewer than {min_lines} lines match"
        assert rows == PAGE_SIZE, f"{rows} rows shown, not {PAGE_SIZE}"
        samples = time_against_floor(
            _get(client, url), _get(client, BARE_PAGE_PATH), repetitions=repetitions, warmup=5
        )
    samples.notes.append(
        f"{url}: {int(count.group(1)):,} lines match, {rows} shown; "
        f"page {len(page.content):,} bytes, bare page {len(bare.content):,} bytes"
    )
    return samples


@benchmark(
    name="care package lines page, biggest provider",
    unit="ms",
    what="GET /care-package-lines/ as the biggest provider's user: the first page of 50 of its 2,400 "
    "lines in the default order (person's name), with the filter form",
    floor=BARE_PAGE_FLOOR,
    goals=[PAGE_GOAL],
)
def care_package_lines_page(repetitions: int) -> Samples:
    return _page_against_bare_page(
        email=PROVIDER_USER, url=reverse("care_package_lines"), repetitions=repetitions
    )


@benchmark(
    name="care package lines page, biggest provider, filtered and sorted",
    unit="ms",
    what="GET /care-package-lines/?service_type=HOMESUP&status=active&sort=-rate&page=2 as the biggest "
    "provider's user: its 745 active home support lines, dearest first, second page of 50",
    floor=BARE_PAGE_FLOOR,
    goals=[PAGE_GOAL],
)
def care_package_lines_page_filtered(repetitions: int) -> Samples:
    query = urlencode({"service_type": "HOMESUP", "status": "active", "sort": "-rate", "page": 2})
    return _page_against_bare_page(
        email=PROVIDER_USER,
        url=f"{reverse('care_package_lines')}?{query}",
        repetitions=repetitions,
        min_lines=500,  # 745 in the seeded data
    )


@benchmark(
    name="council care package lines, filtered to the biggest provider",
    unit="ms",
    what="GET /council/care-package-lines/?provider=PRV00001 as a finance officer: the first page of "
    "50 of that provider's 2,400 lines among the council's 20,000",
    floor=BARE_PAGE_FLOOR,
    goals=[PAGE_GOAL],
)
def council_care_package_lines_page(repetitions: int) -> Samples:
    query = urlencode({"provider": BIGGEST_PROVIDER})
    return _page_against_bare_page(
        email=FINANCE_OFFICER,
        url=f"{reverse('council_care_package_lines')}?{query}",
        repetitions=repetitions,
    )
