"""The load test's data set, on the portal's side, once the simulated back office holds the `load`
council (`seed_backoffice --scale load`) and answers at BACKOFFICE_URL:

1. the portal pulls everything from the back office (`pull_all`, as the beat schedule would);
2. 200 providers are chosen: active adult providers (not PRV00001, the demo logins' big one), in
   reference order, with at least 20 care package lines that are active, run through both weeks, are
   paid through actuals or plan, and whose person is alive;
3. each gets portal access (audited, by a load-test administrator) and one provider user
   (`tests/load/logins.py`: known password, a confirmed TOTP device whose secret derives from the email),
   and `--colleagues` more (0 by default), each with a device of their own: the knee's users beyond 200
   are these, the other people in the same offices;
4. each gets two unconfirmed weeks, the two most recent that have ended (so confirming is allowed; a
   week past its deadline is confirmed late), generated with `actuals_generate` and then cut to 20 lines:
   the clean lines above, so no week has an exception and every week can be confirmed as it is. The other
   generated lines are deleted (with their exceptions) in the same transaction;
5. each has been paid once, so the users have a remittance to read: the week before those two, generated
   and cut the same way, is confirmed, delivered to the back office (here, not by the worker) and accepted
   there; a payment run (`POST /sim/payment-runs`) pays it and a second pull brings the 200 remittances
   of 20 lines. The notifications this queued for the worker (the receipts, the remittance emails, the
   deliveries already made) are purged from the broker: they are not part of the peak.

Writes the logins for the locust users as JSON (`--logins FILE`). Refuses a database whose name does
not contain "load".

    python -m tests.load.dataset --logins FILE [--providers 200] [--lines 20] [--colleagues 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if "load" not in name:
        raise SystemExit(f"Refusing to seed load-test logins into {name!r}: its name must contain 'load'.")


def build(*, providers_wanted: int, lines_per_week: int, colleagues_wanted: int = 0) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.db.models import Q
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from actuals import calendar
    from actuals.models import ActualLine, LineException, ProviderWeek
    from actuals.services import actuals_generate, exceptions_refresh, lines_running_in_week, week_just_ended
    from portal import clock
    from portal.accounts.models import Membership, User
    from portal.providers.models import CarePackageLine, Provider
    from portal.providers.services import provider_portal_access_set
    from tests.load.logins import LOAD_PASSWORD, login_email, totp_key

    started = time.monotonic()
    _pull()
    pulled = time.monotonic() - started

    last = week_just_ended()
    weeks = [last - dt.timedelta(days=7), last]
    paid_week = weeks[0] - dt.timedelta(days=7)
    first_day, last_day = paid_week, calendar.week_end(weeks[-1])
    clean_lines = (
        CarePackageLine.objects.filter(
            status=CarePackageLine.Status.ACTIVE,
            start_date__lte=first_day,
            service_user__deceased_on__isnull=True,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=last_day))
        .order_by("pk")
    )
    chosen: list[tuple[Provider, list[int]]] = []
    for provider in Provider.objects.filter(active=True, kind=Provider.Kind.ADULT).exclude(ref="PRV00001"):
        running = lines_running_in_week(clean_lines.filter(provider=provider), week_start=paid_week)
        ids = list(running.values_list("pk", flat=True)[:lines_per_week])
        if len(ids) == lines_per_week:
            chosen.append((provider, ids))
        if len(chosen) == providers_wanted:
            break
    if len(chosen) < providers_wanted:
        print(f"load: only {len(chosen)} providers have {lines_per_week} clean lines", file=sys.stderr)

    password_hash = make_password(LOAD_PASSWORD)  # once: 200 hashes would take a minute of CPU
    now = clock.now()

    def provider_user(provider: Provider, email: str, full_name: str) -> User:
        """A provider user with the known password and a confirmed authenticator (logins.totp_key)."""
        user = User.objects.create(
            email=email, password=password_hash, full_name=full_name, last_activity_at=now
        )
        Membership.objects.create(user=user, provider=provider, role=Membership.Role.PROVIDER_USER)
        TOTPDevice.objects.create(user=user, name="Authenticator app", key=totp_key(email), confirmed=True)
        return user

    logins = []
    users = {}
    with transaction.atomic():
        admin, _ = User.objects.get_or_create(
            email=f"administrator@{login_email('x').split('@')[1]}",
            defaults={"full_name": "Load test administrator", "council_role": "portal_administrator"},
        )
        for provider, line_ids in chosen:
            provider = provider_portal_access_set(provider=provider, enabled=True, by=admin)
            email = login_email(provider.ref)
            user = users[provider.pk] = provider_user(provider, email, f"Load tester {provider.ref}")
            colleagues = []
            for number in range(1, colleagues_wanted + 1):
                colleague = login_email(provider.ref, colleague=number)
                provider_user(provider, colleague, f"Load tester {provider.ref} colleague {number}")
                colleagues.append({"email": colleague, "key": totp_key(colleague)})
            keep = set(line_ids)
            for week_start in [paid_week, *weeks]:
                actuals_generate(provider=provider, week_start=week_start, by=user)
                week = ProviderWeek.objects.get(provider=provider, week_start=week_start)
                extra = ActualLine.objects.filter(week=week).exclude(care_package_line_id__in=keep)
                LineException.objects.filter(line__in=extra).delete()
                extra.delete()
                kept = list(
                    ActualLine.objects.filter(week=week).select_related(
                        "care_package_line__service_type", "care_package_line__service_user", "week"
                    )
                )
                exceptions_refresh(kept)
                if len(kept) != lines_per_week or LineException.objects.filter(line__week=week).exists():
                    raise SystemExit(f"load: {provider.ref} {week_start}: not {lines_per_week} clean lines")
            logins.append(
                {"email": email, "provider": provider.ref, "key": totp_key(email), "colleagues": colleagues}
            )
    remittances = _paid(paid_week=paid_week, users=users)
    return {
        "password": LOAD_PASSWORD,
        "weeks": [week.isoformat() for week in weeks],
        "lines_per_week": lines_per_week,
        "paid_week": paid_week.isoformat(),
        "remittances": remittances,
        "logins": logins,
        "pulled_seconds": round(pulled, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def _pull() -> None:
    from contrOCC_sync.client import BackOfficeClient
    from contrOCC_sync.inbound import pull_all
    from contrOCC_sync.models import SyncRun

    with BackOfficeClient() as client:
        runs = pull_all(client=client)
    failed = [run for run in runs if run.status != SyncRun.Status.OK]
    if failed:
        raise SystemExit("load: pulling failed: " + "; ".join(f"{r.stream}: {r.error}" for r in failed))


def _paid(*, paid_week: dt.date, users: dict[int, Any]) -> int:
    """Confirm each provider's `paid_week`, deliver it, wait for the back office to accept every line, run
    a payment and pull the remittances; returns how many the portal holds."""
    import requests
    from django.conf import settings

    from actuals.models import ActualLine
    from actuals.services import week_confirm
    from contrOCC_sync.client import BackOfficeClient
    from contrOCC_sync.outbox import outbox_due, outbox_message_deliver
    from portal.celery import app
    from portal.providers.models import Provider
    from remittances.models import Remittance

    for provider in Provider.objects.filter(pk__in=users):
        week_confirm(provider=provider, week_start=paid_week, by=users[provider.pk], declaration=True)
    with BackOfficeClient() as client:
        for message_id in outbox_due(limit=len(users) * 2):
            outbox_message_deliver(message_id=message_id, client=client)
    lines = ActualLine.objects.filter(week__week_start=paid_week, week__provider__in=users)
    deadline = time.monotonic() + 120
    while lines.exclude(status=ActualLine.Status.ACCEPTED).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"load: the back office did not accept the week of {paid_week} within 120 s")
        time.sleep(1)
        _pull()
    response = requests.post(
        f"{settings.BACKOFFICE_URL}/sim/payment-runs",
        json={"cutoff": "now"},
        headers={"Authorization": f"Bearer {settings.BACKOFFICE_TOKEN}"},
        timeout=300,
    )
    if response.status_code != 201:
        raise SystemExit(f"load: the payment run failed: {response.status_code} {response.text[:500]}")
    _pull()
    app.control.purge()
    paid = Remittance.objects.filter(provider__in=users).count()
    if paid != len(users):
        raise SystemExit(f"load: {paid} remittances for {len(users)} providers after the payment run")
    return paid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load.dataset", description=__doc__.split("\n")[0])
    parser.add_argument("--logins", required=True, type=Path, help="where to write the logins (JSON)")
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument(
        "--colleagues", type=int, default=0, help="more provider users per provider (the knee)"
    )
    args = parser.parse_args(argv)
    _setup()
    data = build(
        providers_wanted=args.providers, lines_per_week=args.lines, colleagues_wanted=args.colleagues
    )
    args.logins.write_text(json.dumps(data, indent=1) + "\n")
    print(
        f"load: {len(data['logins'])} providers, each with one login (and {args.colleagues} colleagues) and "
        f"weeks {', '.join(data['weeks'])} of {data['lines_per_week']} lines, paid for {data['paid_week']} "
        f"(pulled in {data['pulled_seconds']} s, {data['seconds']} s in all)"
    )
    return 0 if len(data["logins"]) == args.providers else 1


if __name__ == "__main__":
    sys.exit(main())
