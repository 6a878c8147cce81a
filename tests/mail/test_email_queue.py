"""Outgoing email (portal/mail): queued in the caller's transaction, sent by the worker's task once that
commits, once however often the task runs, retried when the mail server fails, and swept up when its
task was lost. No worker runs here: the tests run the task in this process, as `mailbox` does."""

from __future__ import annotations

import datetime as dt
import threading
from email.message import EmailMessage

import pytest
import time_machine
from django.conf import settings
from django.db import connections, transaction
from kombu.exceptions import OperationalError

from portal import clock
from portal.clock import LONDON
from portal.mail import tasks
from portal.mail.models import QueuedEmail
from portal.mail.services import EmailNotSent, email_queue, emails_due, queued_email_send
from portal.mail.tasks import email_send, email_sweep
from tests.backoffice_process import free_port
from tests.conftest import email_body
from tests.mail.backends import GatedBackend

NOW = dt.datetime(2026, 11, 9, 10, 0, tzinfo=LONDON)
TO = ["a.user@example.org", "office@airedale.example"]


def queue(subject: str = "Your week is confirmed") -> QueuedEmail:
    return email_queue(subject=subject, body="Dear provider,\n\nThank you.\n", to=TO)


def subjects(messages: list[EmailMessage]) -> list[str]:
    """The subjects of the portal's own emails (not Django's error reports to ADMINS)."""
    return [m["Subject"] for m in messages if not m["Subject"].startswith(settings.EMAIL_SUBJECT_PREFIX)]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_an_email_is_queued_in_the_transaction_and_sent_once_it_commits(
    frozen, mailbox, email_tasks: list[int], django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        email = queue()
        assert QueuedEmail.objects.get().state == QueuedEmail.State.WAITING
        assert email_tasks == [] and mailbox() == []  # nothing is sent before the commit

    assert email_tasks == [email.pk]
    [message] = mailbox()
    assert message["Subject"] == "Your week is confirmed"
    assert message["To"] == ", ".join(TO)
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert email_body(message).strip() == "Dear provider,\n\nThank you."
    email.refresh_from_db()
    assert (email.state, email.sent_at, email.attempts, email.last_error) == ("sent", NOW, 1, "")
    assert email.body == "", "the body (a link, a token) is not kept once sent"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing_and_a_committed_one_queues_its_task(
    mailbox, email_tasks: list[int]
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        queue("Rolled back")
        raise RuntimeError("the change failed")
    assert not QueuedEmail.objects.exists() and email_tasks == [] and mailbox() == []

    with transaction.atomic():
        email = queue("Committed")
        assert email_tasks == []
    assert email_tasks == [email.pk]
    assert [m["Subject"] for m in mailbox()] == ["Committed"]


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_at_commit_fails_nothing_and_the_sweep_sends_the_email(
    mailbox, email_tasks: list[int], monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def broker_down(email_id: int) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with time_machine.travel(NOW, tick=False) as traveller:
        with monkeypatch.context() as patch:
            patch.setattr(tasks.email_send, "delay", broker_down)
            with transaction.atomic():
                email = queue()  # the commit does not raise: the change it reports has happened
        assert "Connection refused" in caplog.text  # logged (and mailed to ADMINS by Django's handler)
        assert email_tasks == [] and subjects(mailbox()) == []

        traveller.shift(dt.timedelta(seconds=61))
        assert email_sweep() == 1
        assert subjects(mailbox()) == ["Your week is confirmed"]
    email.refresh_from_db()
    assert email.state == QueuedEmail.State.SENT


@pytest.mark.django_db
def test_the_task_run_twice_sends_the_email_once(frozen, mailbox, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        email = queue()
    assert email_send(email.pk) == "sent"
    assert email_send(email.pk) == "sent"  # a redelivered task, or the sweep's: a no-op
    assert len(mailbox()) == 1
    email.refresh_from_db()
    assert email.attempts == 1
    assert email_send(email.pk + 1000) == "missing"


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_email_at_once_send_it_once(settings) -> None:
    """The first worker holds the row locked while the mail server takes the email; the second waits for
    the lock, then finds it sent, and never reaches the mail server."""
    settings.EMAIL_BACKEND = "tests.mail.backends.GatedBackend"
    GatedBackend.reset()
    email = queue()  # autocommit: committed at once
    results: list[str] = []

    def worker() -> None:
        try:
            results.append(email_send(email.pk))
        finally:
            connections.close_all()

    first, second = threading.Thread(target=worker), threading.Thread(target=worker)
    first.start()
    assert GatedBackend.entered.wait(10)
    second.start()
    second.join(timeout=1)
    assert second.is_alive() and GatedBackend.began == 1  # waiting on the row lock, not sending
    GatedBackend.release.set()
    first.join(timeout=20)
    second.join(timeout=20)
    assert results == ["sent", "sent"]
    assert GatedBackend.began == 1 and len(GatedBackend.sent) == 1
    email.refresh_from_db()
    assert email.attempts == 1


@pytest.mark.django_db
def test_a_failing_mail_server_is_recorded_and_the_email_sent_later(
    frozen, settings, mailbox, email_tasks: list[int], django_capture_on_commit_callbacks
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 5
    with django_capture_on_commit_callbacks(execute=True):
        email = queue()

    # The task as a worker runs it, its retries included (run at once here: eager retries do not wait).
    result = email_send.apply(args=[email.pk])
    assert result.state == "FAILURE" and isinstance(result.result, EmailNotSent)
    email.refresh_from_db()
    assert (email.state, email.attempts, email.sent_at) == ("waiting", 1 + email_send.max_retries, None)
    assert "Connection refused" in email.last_error
    assert email.last_attempt_at == NOW
    assert email.next_attempt_at > NOW

    # Its retries spent while the server was down, it waits for the sweep, which takes it once it is due.
    email_tasks.clear()
    assert email_sweep() == 0 and email_tasks == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"  # the server is back
    frozen.shift(email.next_attempt_at - NOW)
    assert email_sweep() == 1 and email_tasks == [email.pk]
    [message] = mailbox()
    assert message["Subject"] == "Your week is confirmed"
    email.refresh_from_db()
    assert (email.state, email.attempts, email.last_error) == ("sent", 2 + email_send.max_retries, "")
    assert email.sent_at == clock.now()
    assert email_sweep() == 0


@pytest.mark.django_db
def test_the_waits_between_attempts_double_up_to_an_hour(frozen, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    email = queue()
    waits = []
    for _ in range(9):
        with pytest.raises(EmailNotSent):
            queued_email_send(email_id=email.pk)
        email.refresh_from_db()
        waits.append((email.next_attempt_at - clock.now()).total_seconds())
    assert email.attempts == 9 and email.state == QueuedEmail.State.WAITING
    for attempt, wait in enumerate(waits, start=1):
        full = min(3600, 60 * 2 ** (attempt - 1))
        assert full / 2 <= wait <= full, (attempt, wait)


@pytest.mark.django_db
def test_every_recipient_refused_for_good_is_final(frozen, settings) -> None:
    settings.EMAIL_BACKEND = "tests.mail.backends.RefusingBackend"
    email = queue()
    assert email_send.apply(args=[email.pk]).state == "SUCCESS"  # nothing to retry
    email.refresh_from_db()
    assert email.state == QueuedEmail.State.REFUSED and email.refused_at == NOW
    assert "No such user" in email.last_error
    frozen.shift(dt.timedelta(days=1))
    assert emails_due() == []


@pytest.mark.django_db
def test_the_sweep_sends_an_email_whose_task_was_lost(
    frozen, mailbox, email_tasks: list[int], django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # committed, but its task never published
        email = queue()
    assert email_tasks == [] and mailbox() == []

    frozen.shift(dt.timedelta(seconds=59))
    assert email_sweep() == 0  # its own task may yet come: left alone for a minute
    frozen.shift(dt.timedelta(seconds=2))
    assert email_sweep() == 1 and email_tasks == [email.pk]
    assert [m["Subject"] for m in mailbox()] == ["Your week is confirmed"]
    assert email_sweep() == 0


def test_the_sweep_runs_every_minute() -> None:
    assert settings.CELERY_BEAT_SCHEDULE["mail-sweep"] == {
        "task": "portal.mail.tasks.email_sweep",
        "schedule": 60.0,
    }
    assert email_sweep.name == "portal.mail.tasks.email_sweep"


def test_an_email_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="recipient"):
        email_queue(subject="Nobody", body="", to=[""])
