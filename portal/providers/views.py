"""Pages of care data: the provider's own care package lines, and the council's view across providers."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from portal import permissions
from portal.access import PermissionRequiredMixin, portal_request
from portal.pagination import paginate, query_without
from portal.providers import selectors
from portal.providers.filters import CarePackageLineFilter, ProviderFilter, StaffCarePackageLineFilter
from portal.providers.middleware import SESSION_KEY
from portal.providers.models import CarePackageLine, Provider
from portal.providers.services import ProviderError, provider_portal_access_set
from portal.templatetags.portal import money, quantity


class ProviderChoiceForm(forms.Form):
    provider = forms.TypedChoiceField(
        label="Which provider are you acting for?",
        widget=forms.RadioSelect,
        coerce=int,
        error_messages={"required": "Select the provider you are acting for"},
    )

    def __init__(self, *args: Any, memberships: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["provider"]).choices = [
            (m.provider_id, f"{m.provider.name} ({m.provider.ref})") for m in memberships
        ]


class ProviderSwitchView(TemplateView):
    """Choose the provider in use, from the login's own memberships only."""

    template_name = "providers/provider_switch.html"
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not portal_request(request).memberships:
            raise PermissionDenied  # council staff and logins without a usable provider have nothing to switch
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form",
            ProviderChoiceForm(
                memberships=portal_request(self.request).memberships,
                initial={"provider": getattr(portal_request(self.request).provider, "pk", None)},
            ),
        )
        context["next"] = self._next_url()
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProviderChoiceForm(request.POST, memberships=portal_request(request).memberships)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        request.session[SESSION_KEY] = form.cleaned_data["provider"]
        return HttpResponseRedirect(self._next_url())

    def _next_url(self) -> str:
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return candidate
        return reverse("home")


class BaseCarePackageLineListView(PermissionRequiredMixin, TemplateView):
    """A filtered, sorted, paged list of lines; subclasses say whose lines."""

    filterset_class: type[CarePackageLineFilter] = CarePackageLineFilter
    template_name = "providers/care_package_line_list.html"
    staff = False

    def get_queryset(self) -> QuerySet[CarePackageLine]:
        raise NotImplementedError

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset = self.filterset_class(self.request.GET or None, queryset=self.get_queryset())
        context.update(
            filterset=filterset,
            form=filterset.form,
            staff=self.staff,
            sort=self.request.GET.get("sort", ""),
            sort_query=query_without(self.request, "sort", "page"),
            **paginate(self.request, filterset.qs),
        )
        return context


class CarePackageLineListView(BaseCarePackageLineListView):
    permission_required = permissions.VIEW_OWN_CARE_PACKAGE_LINES

    def get_queryset(self) -> QuerySet[CarePackageLine]:
        return selectors.care_package_lines_for_provider(provider=self.provider)


class StaffCarePackageLineListView(BaseCarePackageLineListView):
    permission_required = permissions.VIEW_ALL_CARE_PACKAGE_LINES
    filterset_class = StaffCarePackageLineFilter
    staff = True

    def get_queryset(self) -> QuerySet[CarePackageLine]:
        return selectors.care_package_lines_for_staff(user=self.user)


class CarePackageLineDetailView(PermissionRequiredMixin, TemplateView):
    permission_required = permissions.VIEW_OWN_CARE_PACKAGE_LINES
    template_name = "providers/care_package_line_detail.html"
    staff = False

    def get_queryset(self) -> QuerySet[CarePackageLine]:
        return selectors.care_package_lines_for_provider(provider=self.provider)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        line = get_object_or_404(self.get_queryset(), ref=kwargs["ref"])
        context.update(line=line, staff=self.staff, rows=line_summary_rows(line, staff=self.staff))
        return context


class StaffCarePackageLineDetailView(CarePackageLineDetailView):
    permission_required = permissions.VIEW_ALL_CARE_PACKAGE_LINES
    staff = True

    def get_queryset(self) -> QuerySet[CarePackageLine]:
        return selectors.care_package_lines_for_staff(user=self.user)


def line_summary_rows(line: CarePackageLine, *, staff: bool) -> list[tuple[str, str, None]]:
    person, service_type = line.service_user, line.service_type
    unit = service_type.unit.removesuffix("s")
    person_html = format_html("{}<br>Client reference {}", person.name, person.ref)
    if person.date_of_birth:
        person_html = format_html("{}<br>Born {}", person_html, date_format(person.date_of_birth, "j F Y"))
    if person.deceased_on:
        person_html = format_html(
            "{}<br><strong>Died {}</strong>", person_html, date_format(person.deceased_on, "j F Y")
        )
    dates = f"From {date_format(line.start_date, 'j F Y')}" + (
        f" to {date_format(line.end_date, 'j F Y')}" if line.end_date else ", no end date"
    )
    rows = [
        ("Person", person_html),
        ("Service", f"{service_type.name} (paid on {service_type.get_paid_on_display().lower()})"),
        (
            "Planned a week",
            f"{quantity(line.planned_per_week)} {service_type.unit}, in steps of {quantity(service_type.step)}",
        ),
        ("Unit rate", f"{money(line.rate)} a {unit}"),
        ("Dates", dates),
        ("Status", line.get_status_display()),
        (
            "Extras",
            "Allowed with an accepted adjustment form"
            if service_type.allows_extras
            else "Not allowed for this service",
        ),
        (
            "Version",
            f"{line.version}, last changed {date_format(timezone.localtime(line.updated_at), 'j F Y H:i')}",
        ),
    ]
    if staff:
        provider_html = format_html(
            '<a class="govuk-link" href="{}">{}</a> ({})',
            reverse("council_provider", args=[line.provider.ref]),
            line.provider.name,
            line.provider.ref,
        )
        rows.insert(0, ("Provider", provider_html))
    return [(key, value, None) for key, value in rows]


class ProviderListView(PermissionRequiredMixin, TemplateView):
    permission_required = permissions.VIEW_PROVIDERS
    template_name = "providers/provider_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset = ProviderFilter(
            self.request.GET or None,
            queryset=selectors.providers_for_staff(user=self.user),
        )
        context.update(filterset=filterset, form=filterset.form, **paginate(self.request, filterset.qs))
        return context


def provider_summary_rows(provider: Provider) -> list[tuple[str, str, None]]:
    """The provider's facts for council staff; `provider` comes from `providers_for_staff` (line_count)."""
    active_lines: int = provider.line_count  # type: ignore[attr-defined]
    lines_url = (
        f"{reverse('council_care_package_lines')}?{urlencode({'provider': provider.ref, 'status': 'active'})}"
    )
    access = (
        f"Switched on {date_format(timezone.localtime(provider.portal_enabled_at), 'j F Y')}"
        if provider.portal_enabled and provider.portal_enabled_at
        else "Not switched on"
    )
    rows = [
        ("Email", provider.email or "–"),
        ("In the back office", "Active" if provider.active else "Inactive"),
        (
            "Active care package lines",
            format_html('<a class="govuk-link" href="{}">{}</a>', lines_url, active_lines),
        ),
        ("Portal access", access),
    ]
    return [(key, value, None) for key, value in rows]


class ProviderDetailView(PermissionRequiredMixin, TemplateView):
    permission_required = permissions.VIEW_PROVIDERS
    template_name = "providers/provider_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        provider = get_object_or_404(selectors.providers_for_staff(user=self.user), ref=kwargs["ref"])
        context.update(provider=provider, rows=provider_summary_rows(provider))
        return context


class ProviderPortalAccessView(PermissionRequiredMixin, View):
    """POST only: switch a provider's portal access on or off."""

    permission_required = permissions.MANAGE_PORTAL_ACCESS

    def post(self, request: HttpRequest, ref: str) -> HttpResponse:
        provider = get_object_or_404(selectors.providers_for_staff(user=self.user), ref=ref)
        enabled = request.POST.get("enabled") == "on"
        try:
            provider_portal_access_set(provider=provider, enabled=enabled, by=self.user)
        except ProviderError as error:
            messages.error(request, str(error))
        else:
            state = "switched on" if enabled else "switched off"
            messages.success(request, f"Portal access for {provider.name} is {state}.")
        return redirect("council_provider", ref=provider.ref)
