"""Email backends the outgoing-email tests point EMAIL_BACKEND at."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Sequence
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class GatedBackend(BaseEmailBackend):
    """Holds every send until `release` is set, counting the sends that began: a slow mail server."""

    began: ClassVar[int] = 0
    entered: ClassVar[threading.Event] = threading.Event()
    release: ClassVar[threading.Event] = threading.Event()
    sent: ClassVar[list[EmailMessage]] = []

    @classmethod
    def reset(cls) -> None:
        cls.began = 0
        cls.entered, cls.release, cls.sent = threading.Event(), threading.Event(), []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        GatedBackend.began += 1
        GatedBackend.entered.set()
        assert GatedBackend.release.wait(20), "the test never released the send"
        GatedBackend.sent.extend(email_messages)
        return len(email_messages)


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every recipient for good (550), as smtplib reports it."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        recipients = [address for message in email_messages for address in message.recipients()]
        raise smtplib.SMTPRecipientsRefused({address: (550, b"5.1.1 No such user") for address in recipients})
