"""The signed-in user's own account pages: the six-digit code (enter it, set it up, backup codes, email
fallback, lost it), accepting an invitation, the security page, and keeping a session alive."""

from __future__ import annotations

from typing import Any, cast

import django_otp
import segno
from allauth.account.decorators import reauthentication_required
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import services
from portal.accounts.forms import (
    BackupCodeForm,
    EmailForm,
    NewPasswordForm,
    PasswordConfirmForm,
    SecurityCodeForm,
)
from portal.accounts.middleware import session_refresh
from portal.accounts.models import BackupCodeDevice, User
from portal.accounts.services import AccountError, CodeMethod

NEW_BACKUP_CODES_SESSION_KEY = "portal_new_backup_codes"


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _signed_in_user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _complete_sign_in(request: HttpRequest, device: Any, method: str) -> HttpResponse:
    """The code is right: the session is verified under a new key, and the 90-day clock restarts."""
    django_otp.login(request, device)
    request.session.cycle_key()
    services.sign_in_completed(user=_signed_in_user(request), method=method)
    return HttpResponseRedirect(_next_url(request))


@method_decorator(never_cache, name="dispatch")
class CodeVerifyView(View):
    """Enter the code from the authenticator app (or from a backup code or an email, on their own pages)."""

    method = CodeMethod.APP
    form_class: type[SecurityCodeForm] | type[BackupCodeForm] = SecurityCodeForm
    template_name = "account/code_verify.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = _signed_in_user(request)
        if user.is_verified():
            return HttpResponseRedirect(_next_url(request))
        if not services.has_security_code(user):
            return redirect("code_enrol")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[return-value]

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        user = _signed_in_user(self.request)
        backup = BackupCodeDevice.objects.filter(user=user).first()
        return {
            "form": form,
            "method": self.method,
            "next": _next_url(self.request),
            "backup_codes_remaining": backup.remaining if backup else 0,
            **extra,
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, self.context(self.form_class()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                device = services.code_verify(
                    user=_signed_in_user(request), method=self.method, token=form.cleaned_data["code"]
                )
            except AccountError as error:
                form.add_error("code", str(error))
                return render(request, self.template_name, self.context(form))
            if device is not None:
                return _complete_sign_in(request, device, self.method)
            form.add_error("code", self.wrong_code_message())
        return render(request, self.template_name, self.context(form), status=200)

    def wrong_code_message(self) -> str:
        return "The security code is not right, or it has expired. Enter the code your app shows now"


class BackupCodeVerifyView(CodeVerifyView):
    method = CodeMethod.BACKUP
    form_class = BackupCodeForm
    template_name = "account/code_backup.html"

    def wrong_code_message(self) -> str:
        return "The backup code is not right, or it has already been used"


class EmailCodeVerifyView(CodeVerifyView):
    """The last fallback: a code sent to the login's email address, at most once a minute."""

    method = CodeMethod.EMAIL
    template_name = "account/code_email.html"

    def post(self, request: HttpRequest) -> HttpResponse:
        if "send" in request.POST:
            sent = services.email_code_send(user=_signed_in_user(request))
            return render(
                request, self.template_name, self.context(self.form_class(), sent=sent, too_soon=not sent)
            )
        return super().post(request)

    def wrong_code_message(self) -> str:
        return "The security code is not right, or it has expired. Ask for a new code"


@method_decorator(never_cache, name="dispatch")
class CodeEnrolView(View):
    """Set up the authenticator app: a QR code and the secret as text; the first valid code confirms it."""

    template_name = "account/code_enrol.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = _signed_in_user(request)
        # Someone with a code must give it first (enrolling a new device is no way round it); someone who
        # has given it changes their app by resetting the code, which asks for the password.
        if services.has_security_code(user):
            return redirect("account_security" if user.is_verified() else "code_verify")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[return-value]

    def context(self, form: SecurityCodeForm) -> dict[str, Any]:
        device = services.totp_device_for_enrolment(user=_signed_in_user(self.request))
        qr = segno.make(device.config_url, error="m")
        return {
            "form": form,
            "qr_svg": qr.svg_inline(scale=5, title="QR code for your authenticator app"),
            "secret": _grouped(_base32(device)),
            "next": _next_url(self.request),
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, self.context(SecurityCodeForm()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SecurityCodeForm(request.POST)
        if form.is_valid():
            try:
                device = services.totp_enrolment_confirm(
                    user=_signed_in_user(request), token=form.cleaned_data["code"]
                )
            except AccountError as error:
                form.add_error("code", str(error))
                return render(request, self.template_name, self.context(form))
            if device is not None:
                django_otp.login(request, device)
                request.session.cycle_key()
                services.sign_in_completed(user=_signed_in_user(request), method="enrolment")
                request.session[NEW_BACKUP_CODES_SESSION_KEY] = services.backup_codes_generate(
                    user=_signed_in_user(request)
                )
                return redirect(f"{reverse('backup_codes_new')}?next={_next_url(request)}")
            form.add_error("code", "The security code is not right. Enter the code your app shows now")
        return render(request, self.template_name, self.context(form))


def _base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@method_decorator(never_cache, name="dispatch")
class BackupCodesNewView(View):
    """The new backup codes, shown once; downloadable as text while this page's session holds them."""

    def get(self, request: HttpRequest) -> HttpResponse:
        codes = request.session.get(NEW_BACKUP_CODES_SESSION_KEY)
        if not codes:
            return redirect("account_security")
        if request.GET.get("download"):
            response = HttpResponse(
                f"Provider portal backup codes for {_signed_in_user(request).email}\nEach works once.\n\n"
                + "\n".join(codes)
                + "\n",
                content_type="text/plain; charset=utf-8",
            )
            response["Content-Disposition"] = 'attachment; filename="provider-portal-backup-codes.txt"'
            return response
        return render(request, "account/backup_codes_new.html", {"codes": codes, "next": _next_url(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        request.session.pop(NEW_BACKUP_CODES_SESSION_KEY, None)
        return HttpResponseRedirect(_next_url(request))


@method_decorator(reauthentication_required, name="dispatch")
class BackupCodesRegenerateView(View):
    """A new set of backup codes (the old ones stop working); asks for the password again first."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "account/backup_codes_regenerate.html")

    def post(self, request: HttpRequest) -> HttpResponse:
        request.session[NEW_BACKUP_CODES_SESSION_KEY] = services.backup_codes_generate(
            user=_signed_in_user(request)
        )
        return redirect(f"{reverse('backup_codes_new')}?next={reverse('account_security')}")


class SecurityView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        user = _signed_in_user(request)
        backup = BackupCodeDevice.objects.filter(user=user).first()
        return render(
            request,
            "account/security.html",
            {
                "backup_codes_remaining": backup.remaining if backup else 0,
                "has_code": services.has_security_code(user),
            },
        )


@method_decorator([login_not_required, never_cache], name="dispatch")
class CodeLostView(View):
    """Lost the phone: ask for a link by email. The answer is the same whether or not the address has a login."""

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"email": request.user.email} if request.user.is_authenticated else {}  # type: ignore[union-attr]
        return render(request, "account/code_lost.html", {"form": EmailForm(initial=initial)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = EmailForm(request.POST)
        if not form.is_valid():
            return render(request, "account/code_lost.html", {"form": form})
        services.security_code_reset_link_send(email=form.cleaned_data["email"])
        return redirect("code_lost_sent")


@login_not_required
@require_GET
def code_lost_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "account/code_lost_sent.html")


@method_decorator([login_not_required, never_cache], name="dispatch")
class CodeResetView(View):
    """The emailed link: prove it is you with your password; the old code dies and you set up a new one."""

    def dispatch(self, request: HttpRequest, token: str) -> HttpResponse:  # type: ignore[override]
        try:
            self.user = services.security_code_reset_link_user(token=token)
        except AccountError as error:
            return render(request, "account/link_problem.html", {"problem": str(error)}, status=400)
        return super().dispatch(request, token)  # type: ignore[return-value]

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return render(request, "account/code_reset.html", {"form": PasswordConfirmForm(user=self.user)})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        form = PasswordConfirmForm(request.POST, user=self.user)
        if not form.is_valid():
            return render(request, "account/code_reset.html", {"form": form})
        if not services.sign_in_allowed(user=self.user):
            return render(request, "account/locked.html", status=403)
        services.security_code_reset(user=self.user, by=self.user)
        self.user.refresh_from_db()
        logout(request)
        login(request, self.user, backend="allauth.account.auth_backends.AuthenticationBackend")
        return redirect("code_enrol")


@method_decorator([login_not_required, never_cache], name="dispatch")
class InvitationAcceptView(View):
    """Set a password from the invitation link, then go on to set up the security code."""

    def dispatch(self, request: HttpRequest, token: str) -> HttpResponse:  # type: ignore[override]
        try:
            self.invitation = services.invitation_find(token=token)
        except AccountError as error:
            return render(request, "account/link_problem.html", {"problem": str(error)}, status=400)
        return super().dispatch(request, token)  # type: ignore[return-value]

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        form = NewPasswordForm(user=self.invitation.user)
        return render(
            request, "account/invitation_accept.html", {"form": form, "invitation": self.invitation}
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        form = NewPasswordForm(request.POST, user=self.invitation.user)
        if form.is_valid():
            try:
                user = services.invitation_accept(token=token, password=form.cleaned_data["password1"])
            except AccountError as error:
                return render(request, "account/link_problem.html", {"problem": str(error)}, status=400)
            logout(request)
            login(request, user, backend="allauth.account.auth_backends.AuthenticationBackend")
            return redirect("code_enrol")
        return render(
            request, "account/invitation_accept.html", {"form": form, "invitation": self.invitation}
        )


@login_not_required
@never_cache
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """Touched by the idle-timeout warning's "Stay signed in": the session is saved, so its 30 minutes restart."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    session_refresh(request, force=True)
    return HttpResponse(status=204)
