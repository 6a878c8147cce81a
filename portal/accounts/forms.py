"""allauth's forms with GOV.UK error messages: say what to do, not what went wrong."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm


class PortalLoginForm(LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].error_messages["required"] = "Enter your email address"
        self.fields["password"].error_messages["required"] = "Enter your password"
