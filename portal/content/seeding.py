"""Starter guidance: the Bradford seed's "Helpful content" (do's and don'ts, who to contact and when), its
global information (signing in, the weekly steps) and a page for each service type, written from the
service type's own rules. The demo seeds them published; `manage.py content_seed_guidance` loads them
into any portal (unpublished unless asked) for the portal team to edit.

Idempotent: a page whose web address (slug) exists already is left as it is, edited or not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from portal import clock
from portal.content.models import GuidancePage, Notice
from portal.content.services import GuidanceFields, NoticeFields, guidance_page_create, notice_create
from portal.providers.models import ServiceType

if TYPE_CHECKING:
    from portal.accounts.models import User


def _general_pages(support_email: str) -> list[tuple[str, str, int, str]]:
    """(slug, title, order, body) of the pages for every service type."""
    return [
        (
            "about-the-portal",
            "About the provider portal",
            10,
            f"""The provider portal is run by {settings.COUNCIL_NAME}. It is the link between care providers and the
council's contracts and finance system.

Each week you record the care you actually delivered compared with the care planned, instead of
filling in a payment claim form (PCF) spreadsheet. The council needs your actuals to pay you and to
bill people's assessed contributions every 4 weeks, from the care they actually received.

The basic steps are the same whatever service you provide, but the way you record actuals depends
on the service: follow the guidance for your service type.

This guidance is reviewed and updated from providers' feedback. Changes to the guidance or the
process are announced on your home page.""",
        ),
        (
            "signing-in",
            "Signing in, passwords and security codes",
            20,
            f"""## Signing in

You sign in with your email address, your password and the six-digit security code from your
authenticator app.

## If you have forgotten your password or lost your security code

You can reset your password and your security code yourself. On the sign-in page, choose
"Forgotten your password?"; on the security code page, choose "I have lost my phone or app: reset my
security code". We email you a link to prove it is you.

## If your account is locked

Your account is locked if you have not used the portal for 90 days. Email
<{support_email}> to ask for it to be unlocked.""",
        ),
        (
            "the-weekly-checklist",
            "Your weekly checklist",
            30,
            """Your home page shows the checklist for the week that is due, with the deadline and the time
left. Each week:

1. **Generate actuals**: the week's lines, filled in with the planned care (the portal does this on
   Monday morning).
2. **Amend** the lines that differ from the plan.
3. **Comment** on every line whose actuals are different from the planned service.
4. **Review exceptions**: fix the ones that stop you confirming and give a reason for the others.
5. **Confirm actuals** on the scheduled payments page.

Actuals are due by 5pm on the Tuesday after the week. Actuals confirmed later are still accepted,
but the payment waits for the next payment run.""",
        ),
        (
            "dos-and-donts",
            "Do's and don'ts",
            40,
            """## Do

- submit your actuals by close of business (5pm) each Tuesday
- claim extras only when an adjustment form has been submitted and accepted, and give its reference
- confirm your actuals on the scheduled payments page
- give a detailed comment whenever your claim is for anything other than the planned service

## Don't

- do not wait for the deadline: a late confirmation is paid in the next payment run
- do not claim extras without an accepted adjustment form: they will not be paid
- do not record a missed visit as frustrated: frustrated is for visits cancelled by or for the
  person at short notice, missed is for care you did not deliver""",
        ),
        (
            "who-to-contact",
            "Who to contact and when",
            50,
            f"""| What it is about | What to do |
| --- | --- |
| Password reset or security code | Reset it yourself from the sign-in page. If you cannot, email <{support_email}> |
| Access to the portal, or a locked account | Email <{support_email}> |
| A service line is incorrect, or one is missing | Send a query from the portal: "Service line incorrect" or "Missing service line" |
| A service has ended or the person has died | Send a query from the portal: "Service ended or person died", with the date |
| A payment | Send a query from the portal: "Payment query" |

Queries sent from the portal go straight to the council team that deals with them, and the answer
comes back in the same thread.""",
        ),
    ]


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def service_type_body(service_type: ServiceType) -> str:
    """Guidance for one service type, from its own rules: the unit and step, how it is paid, extras."""
    unit = service_type.get_unit_display()
    if service_type.paid_on == ServiceType.PaidOn.INVOICE:
        return f"""{service_type.name} is paid on invoice, not through weekly actuals.

- Raise an invoice for each child and period from the portal.
- The council accepts or rejects each invoice; a rejected invoice gives the reason.
- Send a query from the invoice if you disagree with a payment."""
    lines = [
        f"{service_type.name} is recorded in **{unit}**, in steps of {_quantity(service_type.step)}.",
        "",
    ]
    if service_type.paid_on == ServiceType.PaidOn.PLAN:
        lines += [
            "## How it is paid",
            "",
            "It is paid on the **plan**: the planned quantity for the week. Still record what was",
            "delivered, frustrated and missed: the council needs it to monitor the care and to charge",
            "people for the care they received.",
        ]
    else:
        lines += [
            "## How it is paid",
            "",
            "It is paid on **actuals**: what was delivered, plus frustrated visits (cancelled by or for",
            "the person at short notice), plus any accepted extras. Missed care is never paid.",
        ]
    lines += ["", "## Extras", ""]
    if service_type.allows_extras:
        lines += [
            "Claim extra care beyond the plan only once a request for adjustment has been accepted, and",
            "enter the adjustment form reference on the line.",
        ]
    else:
        lines += [f"Extras cannot be claimed for {service_type.name.lower()}."]
    lines += [
        "",
        "## Comments",
        "",
        "Give a comment on every line that differs from the plan, saying what happened and when.",
    ]
    return "\n".join(lines)


def guidance_seed(*, by: User | None, publish: bool) -> int:
    """Write the starter pages that do not exist yet; returns how many were written."""
    support_email = settings.PORTAL_SUPPORT_EMAIL
    existing = set(GuidancePage.objects.values_list("slug", flat=True))
    written = 0
    with transaction.atomic():
        for slug, title, order, body in _general_pages(support_email):
            if slug in existing:
                continue
            guidance_page_create(
                fields=GuidanceFields(
                    title=title, slug=slug, body=body, service_type=None, published=publish, order=order
                ),
                by=by,
            )
            written += 1
        for service_type in ServiceType.objects.order_by("name"):
            slug = f"recording-{service_type.code.lower().replace('_', '-')}"
            if slug in existing:
                continue
            guidance_page_create(
                fields=GuidanceFields(
                    title=f"Recording {service_type.name.lower()}",
                    slug=slug,
                    body=service_type_body(service_type),
                    service_type=service_type,
                    published=publish,
                    order=10,
                ),
                by=by,
            )
            written += 1
    return written


def demo_content_seed(*, by: User) -> int:
    """The demo's guidance, published, and one notice of change, on the demo's first start only: a
    demo restarted after its portal administrator edited (or renamed) pages keeps them as they are.
    Returns how many guidance pages were written."""
    written = 0 if GuidancePage.objects.exists() else guidance_seed(by=by, publish=True)
    if not Notice.objects.exists():
        _demo_notice(by=by)
    return written


def _demo_notice(*, by: User) -> Notice:
    return notice_create(
        fields=NoticeFields(
            title="Guidance is now in the portal",
            body=(
                "The guidance for each service type, the do's and don'ts, and who to contact and when "
                "are now in the portal's [Guidance](/guidance/) section.\n\n"
                "Actuals are still due by **5pm each Tuesday**."
            ),
            provider_kind="",
            service_type=None,
            shown_from=clock.today(),
            shown_until=None,
        ),
        by=by,
    )
