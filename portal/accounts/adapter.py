"""allauth's adapter: accounts are created by the council, never signed up for."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class PortalAccountAdapter(DefaultAccountAdapter):
    error_messages = DefaultAccountAdapter.error_messages | {
        # The same answer whether or not the email has an account.
        "email_password_mismatch": "Enter the email address and password of your portal account",
        "too_many_login_attempts": "Too many attempts to sign in. Wait a few minutes, then try again",
        "invalid_password_reset": "This link has already been used or has expired. Ask for a new one",
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
