"""allauth's forms with GOV.UK error messages: say what to do, not what went wrong."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm
from django import forms
from django.contrib.auth import password_validation

from portal.accounts.models import User
from portal.providers.models import Provider


class PortalLoginForm(LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].error_messages["required"] = "Enter your email address"
        self.fields["password"].error_messages["required"] = "Enter your password"


class SecurityCodeForm(forms.Form):
    """A six-digit code from the authenticator app or an email."""

    code = forms.CharField(
        label="Security code",
        help_text="The 6-digit code, for example 123456",
        max_length=12,
        error_messages={"required": "Enter your security code"},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "class": "govuk-input--width-5",
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Enter the security code as 6 numbers")
        return code


class BackupCodeForm(forms.Form):
    code = forms.CharField(
        label="Backup code",
        help_text="One of the 10 backup codes you saved, for example abcde-23456",
        max_length=20,
        error_messages={"required": "Enter a backup code"},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "class": "govuk-input--width-10"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(ch for ch in self.cleaned_data["code"] if ch.isalnum())
        if len(code) != 10:
            raise forms.ValidationError(
                "Enter the backup code as 10 letters and numbers, for example abcde-23456"
            )
        return code


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="Create a password",
        help_text="At least 12 characters. A few words you will remember is a good password.",
        strip=False,
        error_messages={"required": "Enter a password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirm your password",
        strip=False,
        error_messages={"required": "Enter the password again"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password1(self) -> str:
        password = self.cleaned_data["password1"]
        try:
            password_validation.validate_password(password, self.user)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        return password

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("password1")
            and cleaned.get("password2")
            and cleaned["password1"] != cleaned["password2"]
        ):
            self.add_error("password2", "The passwords do not match")
        return cleaned


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        error_messages={"required": "Enter your password"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("The password is not right")
        return password


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        help_text="This is kept in the account's history.",
        max_length=500,
        error_messages={"required": "Enter a reason"},
        widget=forms.Textarea(attrs={"rows": 3}),
    )


PROVIDER_ROLE_CHOICES = [
    ("provider_user", "Provider user: records and confirms actuals, reads payments"),
    ("provider_administrator", "Provider administrator: also invites and removes colleagues"),
]


class ProviderInviteForm(forms.Form):
    full_name = forms.CharField(
        label="Full name",
        max_length=200,
        error_messages={"required": "Enter their full name"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label="Email address",
        error_messages={
            "required": "Enter their email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label="What can they do?",
        choices=PROVIDER_ROLE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what they can do"},
    )


class CouncilInviteForm(ProviderInviteForm):
    role = forms.ChoiceField(
        label="Role",
        choices=[
            *PROVIDER_ROLE_CHOICES,
            ("finance_officer", "Finance officer (council staff)"),
            ("portal_administrator", "Portal administrator (council staff)"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a role"},
    )
    provider = forms.CharField(
        label="Provider reference",
        required=False,
        help_text="For provider roles only, for example PRV00001",
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "govuk-input--width-10"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        role, ref = cleaned.get("role"), (cleaned.get("provider") or "").strip()
        if role in ("provider_user", "provider_administrator"):
            if not ref:
                self.add_error("provider", "Enter the provider's reference")
            else:
                provider = Provider.objects.filter(ref__iexact=ref).first()
                if provider is None:
                    self.add_error("provider", "There is no provider with this reference")
                elif not provider.portal_enabled:
                    self.add_error("provider", "Switch portal access on for this provider first")
                cleaned["provider_obj"] = provider
        elif ref:
            self.add_error("provider", "Council staff do not act for a provider: leave this empty")
        return cleaned
