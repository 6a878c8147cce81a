"""allauth's adapter: accounts are created by the council, never signed up for; locked logins are
refused with a way forward; every failed password is audited."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.accounts.models import User
from portal.audit.services import audit_record


class PortalAccountAdapter(DefaultAccountAdapter):
    error_messages = DefaultAccountAdapter.error_messages | {
        # The same answer whether or not the email has an account.
        "email_password_mismatch": "Enter the email address and password of your portal account",
        "too_many_login_attempts": "Too many attempts to sign in. Wait 15 minutes, then try again",
        "invalid_password_reset": "This link has already been used or has expired. Ask for a new one",
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        from portal.accounts.services import sign_in_allowed

        if user.is_active and not sign_in_allowed(user=user):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            audit_record(
                action="accounts.user.sign_in_refused", actor=None, obj=user, data={"reason": "locked"}
            )
            return render(request, "account/locked.html", status=403)
        return super().pre_login(request, user, **kwargs)

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        email = str(credentials.get("email") or credentials.get("login") or "")
        user = User.objects.filter(email__iexact=email).first()
        audit_record(
            action="accounts.user.sign_in_failed",
            actor=None,
            obj=user,
            data={"email": email[:254], "step": "password"},
        )
