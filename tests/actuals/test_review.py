"""A finance officer's review of lines held at confirmation: approved lines go on to the back office,
disputed ones go back to the provider; lines no longer held are refused and nothing changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from actuals.models import ActualLine
from actuals.services import ActualsError, lines_approve, lines_dispute
from contrOCC_sync.models import OutboxMessage
from portal.audit.models import AuditEvent
from tests.actuals.conftest import MONDAY_AFTER, acknowledge_all, actual_of, amend, confirm, generate
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


def held_line(provider, user, cpl) -> ActualLine:  # type: ignore[no-untyped-def]
    """`cpl`'s line of the week, with most of it frustrated and acknowledged, confirmed: held."""
    generate(provider)
    line = amend(actual_of(cpl), user, delivered="4.50", frustrated="6", comment="In hospital")
    acknowledge_all(line, user)
    confirm(provider, user)
    line = actual_of(cpl)
    assert line.status == Status.HELD
    return line


@pytest.fixture
def held(council: Council, week: dt.date) -> ActualLine:
    return held_line(council.provider_a, council.users["provider_a"], council.line_a)


def messages_for(line: ActualLine) -> list[OutboxMessage]:
    return [
        m
        for m in OutboxMessage.objects.order_by("pk")
        if any(sent["portal_line_id"] == line.pk for sent in m.body["lines"])
    ]


def test_an_approved_line_is_sent(council: Council, held: ActualLine) -> None:
    finance = council.users["finance"]
    assert (
        lines_approve(user=finance, versions={held.pk: held.version}, reason="  Hospital letter seen ") == 1
    )

    line = actual_of(council.line_a)
    assert (line.status, line.sent_at) == (Status.SENT, MONDAY_AFTER)
    assert (line.review_reason, line.reviewed_by, line.reviewed_at) == (
        "Hospital letter seen",
        finance,
        MONDAY_AFTER,
    )
    [message] = messages_for(line)
    assert message.summary.endswith("approved by finance")
    assert (message.body["lines"][0]["version"], message.body["lines"][0]["frustrated"]) == (1, "6.00")
    assert message.body["confirmed_by"] == council.users["provider_a"].email
    event = AuditEvent.objects.get(action="actuals.line.approved")
    assert (event.actor, event.provider, event.data["reason"]) == (
        finance,
        council.provider_a,
        "Hospital letter seen",
    )


def test_lines_of_several_weeks_are_sent_one_submission_a_week(council: Council, held: ActualLine) -> None:
    other = held_line(council.provider_b, council.users["provider_b"], council.line_b)
    lines_approve(
        user=council.users["finance"],
        versions={held.pk: held.version, other.pk: other.version},
        reason="Seen",
    )
    assert [m.provider for m in messages_for(held)] == [council.provider_a]
    assert [m.provider for m in messages_for(other)] == [council.provider_b]
    assert messages_for(held)[0].body["provider_ref"] == council.provider_a.ref


def test_approving_a_line_not_held_changes_nothing(council: Council, held: ActualLine) -> None:
    sent_cpl = CarePackageLineFactory(provider=council.provider_b)
    generate(council.provider_b)
    confirm(council.provider_b, council.users["provider_b"])
    sent = actual_of(sent_cpl)
    assert sent.status == Status.SENT
    messages = OutboxMessage.objects.count()

    with pytest.raises(
        ActualsError, match="1 of the lines chosen is no longer waiting for review: nothing was approved"
    ):
        lines_approve(
            user=council.users["finance"],
            versions={held.pk: held.version, sent.pk: sent.version},
            reason="Seen",
        )

    line = actual_of(council.line_a)
    assert (line.status, line.review_reason, line.reviewed_at) == (Status.HELD, "", None)
    assert OutboxMessage.objects.count() == messages
    assert not AuditEvent.objects.filter(action="actuals.line.approved").exists()


def test_a_disputed_line_goes_back_to_the_provider(council: Council, held: ActualLine) -> None:
    finance = council.users["finance"]
    assert (
        lines_dispute(user=finance, versions={held.pk: held.version}, reason="We need the hospital's letter")
        == 1
    )
    line = actual_of(council.line_a)
    assert (line.status, line.review_reason, line.reviewed_by) == (
        Status.DISPUTED,
        "We need the hospital's letter",
        finance,
    )
    assert messages_for(line) == []
    assert AuditEvent.objects.get(action="actuals.line.disputed").data == {
        "reason": "We need the hospital's letter",
        "version": 1,
    }
    with pytest.raises(ActualsError, match="no longer waiting for review: nothing was approved"):
        lines_approve(user=finance, versions={held.pk: held.version}, reason="Changed my mind")
    with pytest.raises(ActualsError, match="no longer waiting for review: nothing was disputed"):
        lines_dispute(user=finance, versions={held.pk: held.version}, reason="Again")
    assert actual_of(council.line_a).status == Status.DISPUTED


@pytest.mark.parametrize("review", [lines_approve, lines_dispute])
@pytest.mark.parametrize(
    ("who", "ids", "reason", "message"),
    [
        ("finance", "held", " ", "Enter the reason"),
        ("provider_a", "held", "Fine", "Only council staff review exceptions"),
        ("finance", "none", "Fine", "Select at least one line"),
    ],
)
def test_a_review_needs_staff_a_reason_and_lines(
    council: Council,
    held: ActualLine,
    review,
    who: str,
    ids: str,
    reason: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(ActualsError, match=message):
        review(
            user=council.users[who], versions={held.pk: held.version} if ids == "held" else {}, reason=reason
        )
    assert actual_of(council.line_a).status == Status.HELD


def test_a_line_corrected_after_the_officer_opened_it_is_not_decided_unseen(
    council: Council, held: ActualLine
) -> None:
    """The officer decides on the version they saw: a correction made meanwhile is a new version, and
    approving the old one would send figures nobody reviewed."""
    from actuals.services import LineValues, actual_line_correct

    seen = {held.pk: held.version}
    actual_line_correct(
        provider=council.provider_a,
        line_id=held.pk,
        by=council.users["provider_a"],
        values=LineValues(D("4.50"), D("5.50"), D("0"), D("0"), "", "In hospital, home on Sunday"),
        reason="Home a day early",
        revision=held.revision,
    )
    corrected = actual_of(council.line_a)
    assert (corrected.status, corrected.version) == (Status.HELD, 2)
    for review in (lines_approve, lines_dispute):
        with pytest.raises(ActualsError, match="1 of the lines chosen was corrected by the provider"):
            review(user=council.users["finance"], versions=seen, reason="Seen")
    assert actual_of(council.line_a).status == Status.HELD
    assert messages_for(corrected) == []
    assert lines_approve(user=council.users["finance"], versions={held.pk: 2}, reason="Seen v2") == 1


def test_an_approved_line_goes_at_the_rate_the_back_office_holds_now(
    council: Council, held: ActualLine
) -> None:
    """A rate changed between the confirmation and the approval: the back office pays at its own rate
    and refuses an amount that disagrees, so the line goes at the new rate, and the change is audited."""
    cpl = council.line_a
    cpl.rate, cpl.version = cpl.rate + D("1.00"), cpl.version + 1
    cpl.save()
    before = held.amount
    lines_approve(user=council.users["finance"], versions={held.pk: held.version}, reason="Seen")

    line = actual_of(cpl)
    assert line.rate == cpl.rate and line.amount == (D("10.50") * cpl.rate).quantize(D("0.01"))
    assert line.amount != before
    [message] = messages_for(line)
    assert message.body["lines"][0]["amount"] == str(line.amount)
    event = AuditEvent.objects.get(action="actuals.line.approved")
    assert (event.data["amount_before"], event.data["amount"]) == (str(before), str(line.amount))
    assert line.sent_versions.get().amount == line.amount
