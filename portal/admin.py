"""The Django admin: a read-only window for superusers, signed in through allauth.

Care data belongs to the back office, the audit trail is append-only, and every change to an account
must be audited, so nothing here edits anything: portal administrators work on the portal's own pages. Django's groups and allauth's email
addresses are not used by the portal (roles and memberships are), so they are not shown.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Membership, User
from portal.audit.models import AuditEvent
from portal.mail.models import QueuedEmail
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser

admin.site.site_header = "Provider portal administration"
admin.site.unregister(Group)
admin.site.unregister(EmailAddress)
# django-otp's admins would show authenticator secrets and QR codes: devices are managed on the
# portal's own pages (reset a code), never here.
admin.site.unregister(TOTPDevice)
admin.site.unregister(EmailDevice)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Provider)
class ProviderAdmin(ReadOnlyAdmin):
    list_display = ["ref", "name", "kind", "active", "portal_enabled"]
    list_filter = ["kind", "active", "portal_enabled"]
    search_fields = ["ref", "name"]


@admin.register(ServiceType)
class ServiceTypeAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "unit", "step", "paid_on", "allows_extras", "tolerance_percent"]


@admin.register(ServiceUser)
class ServiceUserAdmin(ReadOnlyAdmin):
    list_display = ["ref", "name", "date_of_birth", "deceased_on"]
    search_fields = ["ref", "name"]


@admin.register(CarePackageLine)
class CarePackageLineAdmin(ReadOnlyAdmin):
    list_display = ["ref", "provider", "service_user", "service_type", "planned_per_week", "rate", "status"]
    list_filter = ["status", "service_type"]
    search_fields = ["ref", "service_user__name", "provider__name"]
    list_select_related = ["provider", "service_user", "service_type"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "actor", "object_repr"]
    list_filter = ["action"]
    list_select_related = ["actor"]


@admin.register(QueuedEmail)
class QueuedEmailAdmin(ReadOnlyAdmin):
    """Outgoing email: what is still waiting (and why), what was sent and when. Not the body: a waiting
    invitation's carries its token."""

    list_display = ["created_at", "subject", "recipient_list", "state", "attempts", "sent_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), ("refused_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "recipients"]
    date_hierarchy = "created_at"
    fields = [
        "subject", "recipients", "created_at", "attempts", "last_attempt_at", "next_attempt_at", "last_error",
        "sent_at", "refused_at",
    ]  # fmt: skip

    @admin.display(description="To")
    def recipient_list(self, obj: QueuedEmail) -> str:
        return ", ".join(obj.recipients)

    @admin.display(description="State")
    def state(self, obj: QueuedEmail) -> str:
        return obj.get_state_display()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["provider", "role", "created_at"]
    readonly_fields = ["provider", "role", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["email", "full_name", "council_role", "is_active", "last_login"]
    list_filter = ["council_role", "is_active"]
    search_fields = ["email", "full_name"]
    fields = ["email", "full_name", "council_role", "is_active", "is_staff", "is_superuser", "last_login"]
    inlines = [MembershipInline]
