"""The council's exception review queue: lines held for review across providers, filtered, sorted and
paged; approve or dispute one line on its page or several from the list, all or nothing, with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actuals import services
from actuals.models import ActualLine
from contrOCC_sync.models import OutboxMessage
from portal.audit.models import AuditEvent
from portal.providers.models import CarePackageLine
from tests.actuals.conftest import (
    DAY_CARE,
    WEEK,
    acknowledge_all,
    actual_of,
    amend,
    confirm,
    generate,
    service_type,
)
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db

D = Decimal
REVIEW = "council_exception_review"


def hold(council: Council, *cpls: CarePackageLine, rule: str = "ACT-13") -> list[ActualLine]:
    """Generate each provider's week, amend the lines so an acknowledge rule fires (ACT-13: frustrated
    above half the plan; ACT-11: over plan with an adjustment reference), give the reason, confirm."""
    users = {
        council.provider_a.pk: council.users["provider_a"],
        council.provider_b.pk: council.users["provider_b"],
    }
    providers = {cpl.provider_id: cpl.provider for cpl in cpls}
    for provider in providers.values():
        generate(provider)
    for cpl in cpls:
        line = actual_of(cpl)
        by = users[cpl.provider_id]
        if rule == "ACT-13":
            amend(
                line,
                by,
                delivered="1",
                frustrated=str(line.planned - 1),
                comment="In hospital most of the week",
            )
        else:
            amend(line, by, extra="3", adjustment_form_ref="ADJ-77", comment="Extra visits after a fall")
        acknowledge_all(actual_of(cpl), by, reason=f"Agreed with the care manager ({cpl.ref})")
    for provider_id, provider in providers.items():
        confirm(provider, users[provider_id])
    lines = [actual_of(cpl) for cpl in cpls]
    assert all(line.status == ActualLine.Status.HELD for line in lines)
    return lines


def pks_on_page(response) -> list[int]:
    return [row["line"].pk for row in response.context["rows"]]


def outbox_line_ids() -> list[int]:
    return [
        line["portal_line_id"]
        for message in OutboxMessage.objects.filter(kind=OutboxMessage.Kind.ACTUALS_SUBMISSION)
        for line in message.body["lines"]
    ]


def test_the_queue_lists_held_lines_across_providers_with_their_exceptions(
    week, finance_client, council: Council
) -> None:
    line_a, line_b = hold(council, council.line_a, council.line_b)
    response = finance_client.get(reverse(REVIEW))
    assert response.status_code == 200
    assert set(pks_on_page(response)) == {line_a.pk, line_b.pk}
    page = response.content.decode()
    for text in (
        "Alice Ashworth",
        "Bernard Booth",
        council.provider_a.name,
        council.provider_b.name,
        "ACT-13",
        "Frustrated or missed above half the plan.",
        f"Provider's reason: “Agreed with the care manager ({council.line_a.ref})”",
        "Select line for Alice Ashworth, Home support, week of 2 Nov 2026",
        f"£{line_a.amount:,.2f}",
    ):
        assert text in page, text
    # Draft and sent lines are not in the queue.
    assert ActualLine.objects.exclude(status=ActualLine.Status.HELD).count() == 0


def test_filters_by_week_provider_rule_and_service_type(week, finance_client, council: Council) -> None:
    day_care = CarePackageLineFactory(
        provider=council.provider_a,
        service_user__name="Cyril Clegg",
        service_type=service_type(DAY_CARE),
        planned_per_week=D("4"),
    )
    over = CarePackageLineFactory(provider=council.provider_b, service_user__name="Doris Day")
    line_a, day_line = hold(council, council.line_a, day_care)
    later_week = hold_b_with_rule_11(council, over)
    url = reverse(REVIEW)
    assert set(pks_on_page(finance_client.get(url, {"provider": council.provider_a.ref}))) == {
        line_a.pk,
        day_line.pk,
    }
    assert pks_on_page(finance_client.get(url, {"service_type": "DAY_CARE"})) == [day_line.pk]
    assert pks_on_page(finance_client.get(url, {"rule": "ACT-11"})) == [later_week.pk]
    assert set(pks_on_page(finance_client.get(url, {"rule": "ACT-13"}))) == {line_a.pk, day_line.pk}
    assert set(pks_on_page(finance_client.get(url, {"week": WEEK.isoformat()}))) == {
        line_a.pk,
        day_line.pk,
        later_week.pk,
    }
    assert pks_on_page(finance_client.get(url, {"q": "cyril"})) == [day_line.pk]
    both = finance_client.get(url, {"provider": council.provider_b.ref, "rule": "ACT-13"})
    assert pks_on_page(both) == []
    assert "No lines waiting for review match these filters." in both.content.decode()
    # The filter lists offer what is in the queue, labelled for people.
    page = finance_client.get(url).content.decode()
    assert '<option value="2026-11-02">Week of 2 Nov 2026</option>' in page
    assert "ACT-11: Over plan beyond the service type" in page
    assert '<label class="govuk-label" for="id_service_type">Service type</label>' in page


def hold_b_with_rule_11(council: Council, cpl: CarePackageLine) -> ActualLine:
    [line] = hold(council, cpl, rule="ACT-11")
    assert set(line.exceptions.values_list("rule", flat=True)) == {"ACT-11"}
    return line


def test_an_unknown_filter_value_is_an_error_and_ignored(week, finance_client, council: Council) -> None:
    hold(council, council.line_a)
    response = finance_client.get(reverse(REVIEW), {"rule": "ACT-99"})
    page = response.content.decode()
    assert "<title>Error: " in page and "Select a valid choice" in page
    assert len(pks_on_page(response)) == 1


def test_sorting_and_paging_keep_the_filters(week, finance_client, council: Council, monkeypatch) -> None:
    cheap = CarePackageLineFactory(
        provider=council.provider_a, rate=D("10.00"), service_user__name="Aaron Early"
    )
    dear = CarePackageLineFactory(provider=council.provider_a, rate=D("90.00"), service_user__name="Zed Late")
    lines = hold(council, council.line_a, cheap, dear)
    url = reverse(REVIEW)
    by_amount = pks_on_page(finance_client.get(url, {"sort": "amount"}))
    assert by_amount[0] == lines[1].pk and by_amount[-1] == lines[2].pk
    assert pks_on_page(finance_client.get(url, {"sort": "-amount"}))[0] == lines[2].pk
    assert pks_on_page(finance_client.get(url, {"sort": "person"}))[0] == lines[1].pk

    monkeypatch.setattr("actuals.views_council.REVIEW_PER_PAGE", 2)
    first = finance_client.get(url, {"provider": council.provider_a.ref, "sort": "person"})
    second = finance_client.get(url, {"provider": council.provider_a.ref, "sort": "person", "page": 2})
    assert len(pks_on_page(first)) == 2 and len(pks_on_page(second)) == 1
    assert set(pks_on_page(first) + pks_on_page(second)) == {line.pk for line in lines}
    assert f"provider={council.provider_a.ref}&amp;sort=person&amp;page=2" in first.content.decode()


def test_the_queue_page_query_count_does_not_grow_with_lines(week, finance_client, council: Council) -> None:
    hold(council, council.line_a)
    finance_client.get(reverse(REVIEW))  # the first request of a session saves it
    with CaptureQueriesContext(connection) as one:
        finance_client.get(reverse(REVIEW))
    more = [CarePackageLineFactory(provider=council.provider_b) for _ in range(5)]
    hold(council, council.line_b, *more)
    with CaptureQueriesContext(connection) as six:
        response = finance_client.get(reverse(REVIEW))
    assert len(pks_on_page(response)) == 7
    assert len(six.captured_queries) == len(one.captured_queries)


def test_approving_one_line_on_its_page_sends_it(week, finance_client, council: Council) -> None:
    [line] = hold(council, council.line_a)
    url = reverse("council_exception", kwargs={"pk": line.pk})
    page = finance_client.get(url).content.decode()
    assert "Your decision" in page and "Agreed with the care manager" in page
    response = finance_client.post(
        url, {"decision": "approve", "reason": "Hospital admission checked", "version": 1}
    )
    assert response.status_code == 302 and response["Location"] == reverse(REVIEW)
    line.refresh_from_db()
    assert line.status == ActualLine.Status.SENT
    assert line.review_reason == "Hospital admission checked"
    assert line.reviewed_by == council.users["finance"]
    assert outbox_line_ids() == [line.pk]
    [message] = OutboxMessage.objects.filter(summary__contains="approved by finance")
    assert message.body["provider_ref"] == council.provider_a.ref
    assert message.body["week_start"] == WEEK.isoformat()
    assert message.body["lines"][0]["frustrated"] == str(line.frustrated)
    assert AuditEvent.objects.filter(action="actuals.line.approved", object_id=str(line.pk)).count() == 1
    followed = finance_client.get(reverse(REVIEW))
    assert "Approved the line for Alice Ashworth" in followed.content.decode()
    assert pks_on_page(followed) == []
    # The line's page shows the decision, with no form.
    after = finance_client.get(url).content.decode()
    assert "Your decision" not in after and "Hospital admission checked" in after


def test_raising_a_dispute_on_one_line_sends_nothing_and_shows_the_reason(
    week, finance_client, council: Council
) -> None:
    [line] = hold(council, council.line_a)
    url = reverse("council_exception", kwargs={"pk": line.pk})
    response = finance_client.post(
        url, {"decision": "dispute", "reason": "No hospital record for that week", "version": 1}
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.status == ActualLine.Status.DISPUTED
    assert line.review_reason == "No hospital record for that week"
    assert outbox_line_ids() == []
    page = finance_client.get(url).content.decode()
    assert 'data-testid="dispute"' in page
    assert "No hospital record for that week" in page
    assert "Disputed" in page and "Your decision" not in page
    assert AuditEvent.objects.filter(action="actuals.line.disputed", object_id=str(line.pk)).count() == 1


def test_a_decision_needs_a_choice_and_a_reason(week, finance_client, council: Council) -> None:
    [line] = hold(council, council.line_a)
    url = reverse("council_exception", kwargs={"pk": line.pk})
    page = finance_client.post(url, {"decision": "", "reason": "  "}).content.decode()
    assert "<title>Error: " in page
    assert "Select whether to approve or raise a dispute" in page
    assert "Enter the reason for your decision" in page
    assert '<a href="#id_decision">' in page and '<a href="#id_reason">' in page
    line.refresh_from_db()
    assert line.status == ActualLine.Status.HELD


def test_deciding_a_line_already_decided_is_refused(week, finance_client, council: Council) -> None:
    [line] = hold(council, council.line_a)
    services.lines_dispute(
        user=council.users["finance"], versions={line.pk: line.version}, reason="Someone else first"
    )
    url = reverse("council_exception", kwargs={"pk": line.pk})
    page = finance_client.post(url, {"decision": "approve", "reason": "Fine", "version": 1}).content.decode()
    assert "<title>Error: " in page and "no longer waiting for review: nothing was approved" in page
    line.refresh_from_db()
    assert line.status == ActualLine.Status.DISPUTED


def test_approving_in_bulk_sends_every_line_selected(week, finance_client, council: Council) -> None:
    extra = CarePackageLineFactory(provider=council.provider_a, service_user__name="Edna Eccles")
    line_a, line_b, line_extra = hold(council, council.line_a, council.line_b, extra)
    url = reverse(REVIEW) + f"?week={WEEK.isoformat()}"
    response = finance_client.post(
        url,
        {
            "lines": [f"{line_a.pk}:1", f"{line_b.pk}:1"],
            "decision": "approve",
            "reason": "Checked with brokerage",
        },
    )
    assert response.status_code == 302 and response["Location"] == url  # the filters are kept
    assert set(ActualLine.objects.filter(status="sent").values_list("pk", flat=True)) == {
        line_a.pk,
        line_b.pk,
    }
    assert sorted(outbox_line_ids()) == sorted([line_a.pk, line_b.pk])
    assert OutboxMessage.objects.filter(summary__contains="approved by finance").count() == 2  # one a week
    line_extra.refresh_from_db()
    assert line_extra.status == ActualLine.Status.HELD
    assert "Approved 2 lines" in finance_client.get(url).content.decode()


def test_disputing_in_bulk(week, finance_client, council: Council) -> None:
    line_a, line_b = hold(council, council.line_a, council.line_b)
    finance_client.post(
        reverse(REVIEW),
        {"lines": [f"{line_a.pk}:1", f"{line_b.pk}:1"], "decision": "dispute", "reason": "Evidence needed"},
    )
    assert set(ActualLine.objects.values_list("status", flat=True)) == {ActualLine.Status.DISPUTED}
    assert set(ActualLine.objects.values_list("review_reason", flat=True)) == {"Evidence needed"}
    assert outbox_line_ids() == []


def test_bulk_with_nothing_selected_is_a_clear_error(week, finance_client, council: Council) -> None:
    hold(council, council.line_a)
    page = finance_client.post(
        reverse(REVIEW), {"decision": "approve", "reason": "All fine"}
    ).content.decode()
    assert "<title>Error: " in page
    assert '<a href="#id_lines">Select at least one line</a>' in page
    assert 'id="id_lines"' in page  # the summary's link has somewhere to go
    assert "All fine" in page  # what was typed is kept
    assert ActualLine.objects.get().status == ActualLine.Status.HELD


def test_bulk_when_a_line_is_no_longer_held_changes_nothing(week, finance_client, council: Council) -> None:
    line_a, line_b = hold(council, council.line_a, council.line_b)
    services.lines_approve(
        user=council.users["finance"], versions={line_a.pk: line_a.version}, reason="Done already"
    )
    sent_before = outbox_line_ids()
    response = finance_client.post(
        reverse(REVIEW),
        {"lines": [f"{line_a.pk}:1", f"{line_b.pk}:1"], "decision": "dispute", "reason": "Both wrong"},
    )
    page = response.content.decode()
    assert "<title>Error: " in page
    assert "1 of the lines chosen is no longer waiting for review: nothing was disputed." in page
    line_b.refresh_from_db()
    assert line_b.status == ActualLine.Status.HELD
    assert outbox_line_ids() == sent_before
    # The line still held stays ticked for another go.
    assert f'value="{line_b.pk}:1" checked' in page


def test_tampered_line_ids_are_an_error(week, finance_client, council: Council) -> None:
    hold(council, council.line_a)
    page = finance_client.post(
        reverse(REVIEW), {"lines": ["not-a-number"], "decision": "approve", "reason": "x"}
    ).content.decode()
    assert "The lines chosen are not valid" in page


def test_provider_users_and_portal_administrators_cannot_review(
    week, council: Council, provider_a_client, portal_admin_client
) -> None:
    [line] = hold(council, council.line_a)
    detail = reverse("council_exception", kwargs={"pk": line.pk})
    for client in (provider_a_client, portal_admin_client):
        assert client.get(reverse(REVIEW)).status_code == 403
        assert client.get(detail).status_code == 403
        assert client.post(detail, {"decision": "approve", "reason": "Mine", "version": 1}).status_code == 403
        assert (
            client.post(
                reverse(REVIEW), {"lines": [f"{line.pk}:1"], "decision": "approve", "reason": "x"}
            ).status_code
            == 403
        )
    line.refresh_from_db()
    assert line.status == ActualLine.Status.HELD


def test_a_line_never_in_review_has_no_review_page(week, finance_client, council: Council) -> None:
    week_row = generate(council.provider_a)
    line = week_row.lines.get()
    assert finance_client.get(reverse("council_exception", kwargs={"pk": line.pk})).status_code == 404
