"""Outgoing email: `email_queue(...)` is the only way the portal sends one.

It writes a `QueuedEmail` in the caller's transaction, so the email exists exactly when the change it
reports commits, and queues the `email_send` task once that commits. A worker sends it
(`queued_email_send`) with the row locked, so two workers never send one email twice; a mail server
that cannot take it now leaves it waiting with its error and a next attempt, and the task retries. A
beat sweep sends whatever is still waiting when its next attempt is due (a lost task, a broker that
was down, a retry that gave up), so an email is delayed, never lost. Nothing is sent in a web request.
Once sent, the body is blanked: invitations and reset links carry tokens the database keeps only hashed.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.db import transaction

from portal import clock
from portal.mail.models import QueuedEmail

logger = logging.getLogger(__name__)

# The sweep leaves a new email to its own task for this long before sending it itself.
SWEEP_AFTER = dt.timedelta(minutes=1)
# Waits between attempts once the mail server has failed: 1, 2, 4 … minutes, at most an hour, jittered.
BACKOFF_CAP_SECONDS = 3600


class EmailNotSent(Exception):
    """The mail server could not take the email now; it stays waiting, with the error recorded."""


def email_queue(*, subject: str, body: str, to: Sequence[str]) -> QueuedEmail:
    """Queue a plain-text email from DEFAULT_FROM_EMAIL in the caller's transaction; a worker sends it
    once that commits."""
    recipients = [address for address in to if address]
    if not recipients:
        raise ValueError("An email needs at least one recipient.")
    now = clock.now()
    email = QueuedEmail.objects.create(
        subject=subject,
        body=body,
        recipients=recipients,
        created_at=now,
        next_attempt_at=now + SWEEP_AFTER,
    )
    from portal.mail.tasks import email_send

    # Robust: once the change has committed, a broker that is down must not fail the request that made
    # it (the email is safe in the table and the sweep sends it); Django logs the error instead.
    transaction.on_commit(lambda: email_send.delay(email.pk), robust=True)
    return email


def queued_email_send(*, email_id: int) -> str:
    """Send one queued email if it is still waiting; a no-op otherwise. Returns its state afterwards.

    The row stays locked while the mail server takes the email, so a second worker waits and then finds
    it sent. (A worker killed after the server took it and before the commit sends it again: delivery
    is at least once.) A failure is recorded and raised once the record has committed: `EmailNotSent`
    when it may pass, for the task's retry; every recipient refused for good is final.
    """
    with transaction.atomic():
        email = QueuedEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None:
            return "missing"
        if email.state != QueuedEmail.State.WAITING:
            return email.state
        email.attempts += 1
        email.last_attempt_at = clock.now()
        message = EmailMessage(email.subject, email.body, None, email.recipients)
        try:
            message.send()
        except Exception as error:
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if _refused_for_good(error):
                email.refused_at = clock.now()
                email.save(update_fields=["attempts", "last_attempt_at", "last_error", "refused_at"])
                logger.error("email %s refused for every recipient: %s", email.pk, email.last_error)
                return email.state
            email.next_attempt_at = clock.now() + _backoff(email.attempts)
            email.save(update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at"])
            failure = error
        else:
            email.sent_at = clock.now()
            email.last_error = ""
            email.body = ""  # some carry a sign-in link or token, which the database need not keep
            email.save(update_fields=["attempts", "last_attempt_at", "last_error", "sent_at", "body"])
            return email.state
    logger.warning("email %s not sent (attempt %d): %s", email_id, email.attempts, email.last_error)
    if isinstance(failure, OSError):  # smtplib's errors, refused connections and timeouts
        raise EmailNotSent(email.last_error) from failure
    raise failure  # not the mail server's doing: no quick retry, the sweep tries again after the backoff


def _refused_for_good(error: Exception) -> bool:
    """Every recipient refused with a permanent (5xx) answer: sending again cannot help."""
    return (
        isinstance(error, smtplib.SMTPRecipientsRefused)
        and bool(error.recipients)
        and all(code >= 500 for code, _ in error.recipients.values())
    )


def _backoff(attempts: int) -> dt.timedelta:
    seconds = min(BACKOFF_CAP_SECONDS, 60 * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=seconds * random.uniform(0.5, 1.0))


def emails_due(*, limit: int = 500) -> list[int]:
    """Waiting emails whose next attempt is due, oldest first (for the sweep)."""
    return list(
        QueuedEmail.objects.filter(
            sent_at__isnull=True, refused_at__isnull=True, next_attempt_at__lte=clock.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
