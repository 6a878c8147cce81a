"""Account administration: portal administrators over every login, provider administrators over their
own provider's. Every action calls one service; every service writes the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from portal import permissions
from portal.access import PermissionRequiredMixin
from portal.accounts import selectors, services
from portal.accounts.filters import AccountFilter
from portal.accounts.forms import CouncilInviteForm, ProviderInviteForm, ReasonForm
from portal.accounts.models import Membership, User
from portal.accounts.services import AccountError
from portal.pagination import paginate


def account_status(user: User) -> tuple[str, str]:
    """(label, tag colour) for a login's state."""
    if not user.is_active:
        return "Deactivated", "grey"
    if user.is_locked:
        return "Locked", "red"
    if not user.has_usable_password():
        return "Invited", "blue"
    return "Active", "green"


class CouncilAccountsMixin(PermissionRequiredMixin):
    permission_required = permissions.MANAGE_ACCOUNTS
    scope = "council"
    list_url = "council_accounts"

    def accounts(self) -> QuerySet[User]:
        return selectors.accounts_for_staff(user=self.user)

    def detail_url(self, account: User) -> str:
        return reverse("council_account", args=[account.pk])


class ProviderUsersMixin(PermissionRequiredMixin):
    permission_required = permissions.MANAGE_PROVIDER_USERS
    scope = "provider"
    list_url = "provider_users"

    def accounts(self) -> QuerySet[User]:
        return selectors.users_for_provider(provider=self.provider)

    def detail_url(self, account: User) -> str:
        return reverse("provider_user", args=[account.pk])


class AccountListView(CouncilAccountsMixin, TemplateView):
    template_name = "accounts/account_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset = AccountFilter(self.request.GET or None, queryset=self.accounts())
        page = paginate(self.request, filterset.qs)
        rows = [(account, account_status(account)) for account in page["page_obj"].object_list]
        context.update(filterset=filterset, form=filterset.form, rows=rows, scope=self.scope, **page)
        return context


class ProviderUserListView(ProviderUsersMixin, TemplateView):
    template_name = "accounts/account_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        page = paginate(self.request, self.accounts())
        rows = [(account, account_status(account)) for account in page["page_obj"].object_list]
        context.update(rows=rows, scope=self.scope, form=None, **page)
        return context


class AccountDetailMixin:
    template_name: str | None = "accounts/account_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        account = get_object_or_404(self.accounts(), pk=kwargs["pk"])  # type: ignore[attr-defined]
        context.update(
            account=account,
            status=account_status(account),
            memberships=list(account.memberships.all()),
            history=selectors.account_history(user=account),
            scope=self.scope,  # type: ignore[attr-defined]
            has_code=services.has_security_code(account),
        )
        return context


class AccountDetailView(CouncilAccountsMixin, AccountDetailMixin, TemplateView):
    pass


class ProviderUserDetailView(ProviderUsersMixin, AccountDetailMixin, TemplateView):
    pass


class InviteMixin:
    form_class: type[ProviderInviteForm] = ProviderInviteForm
    template_name = "accounts/invite.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": self.form_class(), "scope": self.scope})  # type: ignore[attr-defined]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                issued = services.user_invite(
                    email=form.cleaned_data["email"],
                    full_name=form.cleaned_data["full_name"],
                    by=self.user,  # type: ignore[attr-defined]
                    **self.invite_kwargs(form.cleaned_data),
                )
            except AccountError as error:
                form.add_error(None, str(error))
            else:
                user = issued.invitation.user
                messages.success(request, f"We have emailed {user.email} a link to set their password.")
                return redirect(self.detail_url(user))  # type: ignore[attr-defined]
        return render(request, self.template_name, {"form": form, "scope": self.scope})  # type: ignore[attr-defined]

    def invite_kwargs(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class CouncilInviteView(CouncilAccountsMixin, InviteMixin, View):
    form_class = CouncilInviteForm

    def invite_kwargs(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        if cleaned["role"] in Membership.Role.values:
            return {"provider": cleaned["provider_obj"], "provider_role": cleaned["role"]}
        return {"council_role": cleaned["role"]}


class ProviderInviteView(ProviderUsersMixin, InviteMixin, View):
    def invite_kwargs(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {"provider": self.provider, "provider_role": cleaned["role"]}


class AccountActionView(View):
    """One action on one account, confirmed on its own page, with a reason when the action needs one."""

    title = ""
    button = ""
    warning = ""
    needs_reason = True
    button_variant = ""
    done = ""

    def perform(self, account: User, reason: str) -> None:
        raise NotImplementedError

    def account(self, pk: int) -> User:
        return get_object_or_404(self.accounts(), pk=pk)  # type: ignore[attr-defined]

    def render_page(self, request: HttpRequest, account: User, form: ReasonForm | None) -> HttpResponse:
        return render(
            request,
            "accounts/account_action.html",
            {
                "account": account,
                "form": form,
                "title": self.title,
                "button": self.button,
                "button_variant": self.button_variant,
                "warning": self.warning,
                "back_url": self.detail_url(account),  # type: ignore[attr-defined]
            },
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_page(request, self.account(pk), ReasonForm() if self.needs_reason else None)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self.account(pk)
        form = ReasonForm(request.POST) if self.needs_reason else None
        if form is not None and not form.is_valid():
            return self.render_page(request, account, form)
        try:
            self.perform(account, form.cleaned_data["reason"] if form is not None else "")
        except AccountError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, self.done.format(email=account.email))
        if not self.accounts().filter(pk=account.pk).exists():  # type: ignore[attr-defined]
            return redirect(self.list_url)  # type: ignore[attr-defined]
        return redirect(self.detail_url(account))  # type: ignore[attr-defined]


def action(
    base: type, *, title: str, button: str, done: str, perform: Callable[..., None], **options: Any
) -> type[AccountActionView]:
    """A confirmed account action for one scope (council or provider)."""
    attrs = {"title": title, "button": button, "done": done, "perform": perform, **options}
    return type(f"{base.__name__}{title.replace(' ', '')}View", (base, AccountActionView), attrs)


def _unlock(self: Any, account: User, reason: str) -> None:
    services.user_unlock(user=account, by=self.user, reason=reason)


def _lock(self: Any, account: User, reason: str) -> None:
    services.user_lock(user=account, by=self.user, reason=reason)


def _deactivate(self: Any, account: User, reason: str) -> None:
    services.user_deactivate(user=account, by=self.user, reason=reason)


def _resend(self: Any, account: User, reason: str) -> None:
    services.invitation_resend(user=account, by=self.user)


def _reset_code(self: Any, account: User, reason: str) -> None:
    services.security_code_reset(user=account, by=self.user)


def _remove(self: Any, account: User, reason: str) -> None:
    membership = get_object_or_404(Membership, user=account, provider=self.provider)
    services.membership_remove(membership=membership, by=self.user)


UnlockView = action(
    CouncilAccountsMixin,
    title="Unlock this login",
    button="Unlock",
    perform=_unlock,
    done="{email} is unlocked and has been told by email. Their 90 days start again today.",
)
LockView = action(
    CouncilAccountsMixin,
    title="Lock this login",
    button="Lock",
    perform=_lock,
    button_variant="warning",
    warning="They will be signed out at once and cannot sign in until a portal administrator unlocks them.",
    done="{email} is locked.",
)
DeactivateView = action(
    CouncilAccountsMixin,
    title="Deactivate this login",
    button="Deactivate",
    perform=_deactivate,
    button_variant="warning",
    warning="For leavers. They will be signed out at once and can never sign in again. Their history is kept.",
    done="{email} is deactivated.",
)
ResendInvitationView = action(
    CouncilAccountsMixin,
    title="Send a new invitation",
    button="Send a new invitation",
    perform=_resend,
    needs_reason=False,
    warning="The link in any earlier invitation will stop working.",
    done="We have emailed {email} a new link.",
)
ResetCodeView = action(
    CouncilAccountsMixin,
    title="Reset their security code",
    button="Reset the security code",
    perform=_reset_code,
    button_variant="warning",
    needs_reason=False,
    warning="Their authenticator app and backup codes stop working and they are signed out. They set up a new code at their next sign-in.",
    done="The security code of {email} is reset; they have been told by email.",
)
ProviderResendInvitationView = action(
    ProviderUsersMixin,
    title="Send a new invitation",
    button="Send a new invitation",
    perform=_resend,
    needs_reason=False,
    warning="The link in any earlier invitation will stop working.",
    done="We have emailed {email} a new link.",
)
ProviderRemoveView = action(
    ProviderUsersMixin,
    title="Remove this colleague",
    button="Remove",
    perform=_remove,
    button_variant="warning",
    needs_reason=False,
    warning="They will no longer be able to act for your provider. If they act for other providers, those are not affected.",
    done="{email} can no longer act for your provider.",
)
