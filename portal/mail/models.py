"""The outgoing email queue: one row an email, written in the transaction of the change it reports."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class QueuedEmail(models.Model):
    """One plain-text email, stored with the change that caused it (so it exists exactly when that change
    commits) and sent by a worker afterwards: at least once, and never by two workers at once."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting to be sent"
        SENT = "sent", "Sent"
        REFUSED = "refused", "Refused by the mail server"

    subject = models.CharField(max_length=998)  # RFC 5322's limit for a header line
    body = models.TextField(blank=True, help_text="Plain text; blanked once sent.")
    recipients = models.JSONField(help_text="The To addresses.")
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(help_text="When the sweep sends it if its own task has not.")
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    refused_at = models.DateTimeField(
        null=True, blank=True, help_text="The mail server refused every recipient for good: not retried."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True, refused_at__isnull=True),
                name="mail_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.recipients)}"

    @property
    def state(self) -> str:
        if self.sent_at is not None:
            return self.State.SENT
        if self.refused_at is not None:
            return self.State.REFUSED
        return self.State.WAITING

    def get_state_display(self) -> str:
        return self.State(self.state).label
