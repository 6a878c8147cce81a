"""`manage.py portal_users import`: a dry run, a per-row report, and all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal.accounts.models import Invitation, User
from tests.conftest import Council

pytestmark = pytest.mark.django_db


def run(tmp_path: Path, text: str, *args: str) -> str:
    from io import StringIO

    path = tmp_path / "users.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    try:
        call_command("portal_users", "import", str(path), *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + f"ERROR {error}"
    return out.getvalue()


def test_a_good_file_invites_everyone_and_a_dry_run_invites_nobody(
    tmp_path: Path, council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    text = (
        "email,name,provider reference,role\n"
        f"ann@example.org,Ann Able,{council.provider_a.ref},provider_administrator\n"
        f"bob@example.org,Bob Baker,{council.provider_b.ref.lower()},provider_user\n"
        "cath@example.org,Cath Cole,,finance_officer\n"
    )
    dry = run(tmp_path, text, "--dry-run")
    assert "would be invited" in dry and "Dry run" in dry
    assert not User.objects.filter(
        email__in=["ann@example.org", "bob@example.org", "cath@example.org"]
    ).exists()

    with django_capture_on_commit_callbacks(execute=True):
        out = run(tmp_path, text)
    assert "Invited 3 logins" in out
    assert User.objects.get(email="cath@example.org").council_role == "finance_officer"
    assert User.objects.get(email="ann@example.org").memberships.get().role == "provider_administrator"
    assert Invitation.objects.count() == 3
    assert sorted(m["To"] for m in mailbox()) == ["ann@example.org", "bob@example.org", "cath@example.org"]


def test_bad_rows_are_reported_and_nothing_is_created(tmp_path: Path, council: Council) -> None:
    text = (
        "email,name,provider reference,role\n"
        f"ann@example.org,Ann Able,{council.provider_a.ref},provider_user\n"
        "not-an-email,Bad Email,PRV99999,provider_user\n"
        f"ann@example.org,Ann Again,{council.provider_a.ref},provider_user\n"
        f"{council.users['provider_a'].email},Existing,{council.provider_a.ref},provider_user\n"
        "dan@example.org,Dan Dee,,superuser\n"
    )
    out = run(tmp_path, text)
    assert "row 2: ann@example.org: no problems, but not created (other rows are wrong)" in out
    assert "row 3: not-an-email: the email address is not valid; there is no provider PRV99999" in out
    assert "row 4: ann@example.org: the same email and provider appear on an earlier row" in out
    assert f"already has a login for {council.provider_a.ref}" in out
    assert "row 6: dan@example.org: the role must be one of" in out
    assert "ERROR Nothing was created" in out
    assert not User.objects.filter(email="ann@example.org").exists()


def test_a_wrong_header_is_refused(tmp_path: Path, council: Council) -> None:
    out = run(tmp_path, "mail,who\nx@example.org,X\n")
    assert "The header must be: email, name, provider reference, role" in out and "ERROR" in out


def test_demo_code_prints_a_demo_logins_code_and_refuses_outside_the_demo(settings, council: Council) -> None:
    from io import StringIO

    from portal.providers.seeding import demo_security_code_enrol
    from tests.conftest import current_code
    from tests.factories import UserFactory

    demo_user = UserFactory(email="finance@demo.example.org")
    demo_security_code_enrol(demo_user)
    settings.DEMO = True
    out = StringIO()
    call_command("demo_code", "finance@demo.example.org", stdout=out, stderr=StringIO())
    assert out.getvalue().strip() == current_code(demo_user.totpdevice_set.get())
    with pytest.raises(CommandError, match="not a demo login"):
        call_command("demo_code", council.users["provider_a"].email, stdout=StringIO(), stderr=StringIO())
    settings.DEMO = False
    with pytest.raises(CommandError, match="only in the demo"):
        call_command("demo_code", "finance@demo.example.org", stdout=StringIO(), stderr=StringIO())
