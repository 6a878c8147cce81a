"""allauth's pages in the portal's layout: GOV.UK markup, no missing variables, no sign-up, no enumeration.

The test settings render a missing template variable as "!!MISSING {name}!!", so every page fetched here
is checked for it, as well as for the portal's layout and the absence of a sign-up link or placeholder.
"""

from __future__ import annotations

import re

import pytest
from allauth.account import urls as allauth_account_urls
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.core.cache import cache
from django.template import Origin, RequestContext, Template, engines
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.accounts.models import User
from tests.conftest import client_for, current_code, email_body, enrol

EMAIL = "jo.bloggs@example.org"
PASSWORD = "original-password-for-jo-1"
NEW_PASSWORD = "brand-new-password-for-jo-2"
TITLE_SUFFIX = f" – {django_settings.SERVICE_NAME} – {django_settings.COUNCIL_NAME}</title>"

# Every allauth URL the portal includes, with made-up values for the URL's parameters.
ALLAUTH_URL_NAMES = sorted(p.name for p in allauth_account_urls.urlpatterns if p.name)


def _url(name: str) -> str:
    pattern = next(p for p in allauth_account_urls.urlpatterns if p.name == name)
    kwargs = {group: "x1" for group in pattern.pattern.regex.groupindex}
    return reverse(name, kwargs=kwargs)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts failed sign-ins and reset requests in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def jo(db) -> User:
    return User.objects.create_user(email=EMAIL, password=PASSWORD, full_name="Jo Bloggs")


@pytest.fixture
def signed_in_client(jo: User) -> Client:
    return client_for(jo)


def page_html(response) -> str:
    """The page's HTML, after the checks every allauth page must pass."""
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "!!MISSING" not in html, re.findall(r"!!MISSING \{[^}]*\}!!", html)
    assert 'class="govuk-template' in html, "not rendered in the portal's layout"
    assert TITLE_SUFFIX in html
    assert html.count("<h1") == 1
    assert 'href="/accounts/signup/' not in html, "no page may link to sign-up"
    assert "placeholder=" not in html, "GOV.UK forms do not use placeholders"
    return html


def error_summary_targets(html: str) -> list[str]:
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert match, "no error summary"
    targets = re.findall(r'href="#([^"]+)"', match.group(0))
    assert targets
    for target in targets:
        assert f'id="{target}"' in html, f"the error summary links to #{target}, which is not on the page"
    return targets


def title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def _same_page(html: str) -> str:
    """A page without what changes on every request (CSP nonce, CSRF token)."""
    html = re.sub(r'nonce="[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


# Every URL -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ALLAUTH_URL_NAMES)
def test_every_allauth_url_renders_or_redirects_for_an_anonymous_user(client, name):
    response = client.get(_url(name))
    if response.status_code == 200:
        page_html(response)
    else:
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/"), "redirects stay on the portal"
        page_html(client.get(response["Location"], follow=True))


@pytest.mark.parametrize("name", ALLAUTH_URL_NAMES)
def test_every_allauth_url_renders_or_redirects_for_a_signed_in_user(signed_in_client, name):
    response = signed_in_client.get(_url(name))
    if response.status_code == 200:
        page_html(response)
    else:
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/"), "redirects stay on the portal"
        followed = signed_in_client.get(response["Location"], follow=True)
        assert followed.status_code == 200
        assert "!!MISSING" not in followed.content.decode()


def test_the_anonymous_pages_say_what_they_are(client, db):
    expected = {
        "account_login": "Sign in",
        "account_reset_password": "Reset your password",
        "account_reset_password_done": "Check your email",
        "account_reset_password_from_key_done": "You have a new password",
        "account_signup": "Accounts are created by the council",
        "account_inactive": "Your account is switched off",
        "account_reset_password_from_key": "Your password reset link is not valid",
    }
    for name, heading in expected.items():
        html = page_html(client.get(_url(name)))
        assert f'<h1 class="govuk-heading-l">{heading}</h1>' in html, name
        assert title(html) == heading + TITLE_SUFFIX.removesuffix("</title>"), name


def test_the_signed_in_pages_say_what_they_are(signed_in_client):
    expected = {
        "account_logout": "Sign out",
        "account_change_password": "Change your password",
        "account_reauthenticate": "Enter your password to continue",
        "account_email": "Your email address",
    }
    for name, heading in expected.items():
        html = page_html(signed_in_client.get(_url(name)))
        assert f'<h1 class="govuk-heading-l">{heading}</h1>' in html, name


# Sign in ---------------------------------------------------------------------------------------------


def test_the_sign_in_page_follows_the_gov_uk_patterns(client, db):
    html = page_html(client.get(reverse("account_login")))
    email_input = re.search(r'<input[^>]*id="id_login"[^>]*>', html).group(0)
    assert 'type="email"' in email_input
    assert 'autocomplete="email"' in email_input
    assert 'spellcheck="false"' in email_input
    assert 'class="govuk-input"' in email_input
    assert '<label class="govuk-label" for="id_login">Email address</label>' in html

    # GOV.UK Frontend's password input: the Show button stays hidden until JavaScript starts the
    # component, so without JavaScript this is a plain password input.
    assert 'data-module="govuk-password-input"' in html
    password_input = re.search(r'<input[^>]*id="id_password"[^>]*>', html).group(0)
    assert 'type="password"' in password_input
    assert 'autocomplete="current-password"' in password_input
    assert "govuk-js-password-input-input" in password_input
    toggle = re.search(r"<button[^>]*govuk-js-password-input-toggle[^>]*>", html).group(0)
    assert 'type="button"' in toggle
    assert 'aria-controls="id_password"' in toggle
    assert " hidden" in toggle

    assert re.search(r'<form method="post" action="/accounts/login/"', html)
    assert re.search(r'<button type="submit" class="govuk-button"[^>]*>Sign in</button>', html)
    assert f'href="{reverse("account_reset_password")}">Forgotten your password?</a>' in html
    assert "Accounts are created by the council" in html
    assert f'href="mailto:{django_settings.PORTAL_SUPPORT_EMAIL}"' in html
    assert "sign up" not in html.lower()


def test_signing_in_with_the_right_password_and_code_reaches_the_home_page(client, jo):
    device = enrol(jo)
    response = client.post(reverse("account_login"), {"login": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    code_page = client.get(response["Location"])
    assert code_page["Location"] == reverse("code_verify") + "?next=%2F"
    response = client.post(code_page["Location"], {"code": current_code(device), "next": "/"})
    assert response["Location"] == reverse("home")
    home = client.get(response["Location"])
    assert home.status_code == 200
    assert home.wsgi_request.user == jo
    assert "!!MISSING" not in home.content.decode()
    assert "govuk-notification-banner" not in home.content.decode(), "no 'signed in' banner"


def test_signing_in_returns_to_the_page_asked_for(client, jo):
    response = client.get(reverse("care_package_lines"))
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith(reverse("account_login") + "?next=")
    html = page_html(client.get(login_url))
    assert '<input type="hidden" name="next" value="/care-package-lines/">' in html
    response = client.post(login_url, {"login": EMAIL, "password": PASSWORD, "next": "/care-package-lines/"})
    assert response.status_code == 302
    assert response["Location"] == "/care-package-lines/"


def test_the_email_address_is_not_case_sensitive(client, jo):
    response = client.post(reverse("account_login"), {"login": EMAIL.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_wrong_password_shows_the_error_summary_and_keeps_the_email(client, jo):
    response = client.post(reverse("account_login"), {"login": EMAIL, "password": "not-the-password"})
    html = page_html(response)
    assert title(html).startswith("Error: Sign in – ")
    assert "There is a problem" in html
    assert error_summary_targets(html) == ["form-errors"]
    assert re.search(r'<input[^>]*id="id_login"[^>]*value="jo.bloggs@example.org"', html)
    assert "not-the-password" not in html, "a password is never sent back"
    assert '<span class="govuk-visually-hidden">Error:</span>' in html
    assert client.get(reverse("home")).status_code == 302, "still signed out"


def test_an_empty_sign_in_links_each_error_to_its_field(client, db):
    html = page_html(client.post(reverse("account_login"), {"login": "", "password": ""}))
    assert title(html).startswith("Error: ")
    assert error_summary_targets(html) == ["id_login", "id_password"]
    for field in ("id_login", "id_password"):
        control = re.search(rf'<input[^>]*id="{field}"[^>]*>', html).group(0)
        assert "govuk-input--error" in control
        assert f'aria-describedby="{field}-error"' in control
        assert f'<p id="{field}-error" class="govuk-error-message">' in html
    assert html.count("govuk-form-group--error") == 2
    assert "Enter your email address" in html and "Enter your password" in html


def test_sign_in_does_not_reveal_whether_an_address_has_an_account(client, jo):
    def error_for(login: str) -> str:
        html = page_html(
            client.post(reverse("account_login"), {"login": login, "password": "not-the-password"})
        )
        return re.search(r'id="form-errors">(.*?)</p>', html, re.S).group(1)

    assert error_for(EMAIL) == error_for("nobody@example.org")


def test_an_inactive_account_cannot_sign_in(client, jo):
    jo.is_active = False
    jo.save()
    response = client.post(reverse("account_login"), {"login": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_inactive")
    html = page_html(client.get(response["Location"]))
    assert "Your account is switched off" in html
    assert f'href="mailto:{django_settings.PORTAL_SUPPORT_EMAIL}"' in html
    assert client.get(reverse("home")).status_code == 302


# Sign-up is closed -----------------------------------------------------------------------------------


def test_signup_is_closed(client, db):
    html = page_html(client.get(reverse("account_signup")))
    assert "Accounts are created by the council" in html
    assert "<form" not in html.split('id="main-content"')[1].split("</main>")[0]

    response = client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.org", "password1": "a-perfectly-fine-password-9"},
    )
    page_html(response)
    assert not User.objects.filter(email="newcomer@example.org").exists()
    assert User.objects.count() == 0
    assert client.get(reverse("home")).status_code == 302, "nobody was signed in"


# Sign out --------------------------------------------------------------------------------------------


def test_signing_out_asks_first_and_then_signs_out_on_post(signed_in_client):
    html = page_html(signed_in_client.get(reverse("account_logout")))
    assert re.search(r'<form method="post" action="/accounts/logout/"', html)
    assert signed_in_client.get(reverse("home")).status_code == 200, "a GET does not sign out"

    response = signed_in_client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    html = page_html(signed_in_client.get(response["Location"]))
    assert "You have signed out." in html
    assert signed_in_client.get(reverse("home")).status_code == 302


# Password reset --------------------------------------------------------------------------------------


def test_the_pages_and_email_match_the_reset_link_lifetime():
    # password_reset_done.html, password_reset_from_key.html and email/password_reset_key_message.txt
    # say the link expires after 3 days: change them with the setting.
    assert django_settings.PASSWORD_RESET_TIMEOUT == 3 * 24 * 60 * 60


def test_password_reset_does_not_reveal_whether_an_address_has_an_account(client, jo, mailbox):
    page = page_html(client.get(reverse("account_reset_password")))
    email_input = re.search(r'<input[^>]*id="id_email"[^>]*>', page).group(0)
    assert 'autocomplete="email"' in email_input
    assert 'type="email"' in email_input

    known = client.post(reverse("account_reset_password"), {"email": EMAIL})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    known_page = page_html(client.get(known["Location"]))
    unknown_page = page_html(client.get(unknown["Location"]))
    assert _same_page(known_page) == _same_page(unknown_page)
    assert "If the email address you entered belongs to a portal account" in known_page

    sent = {message["To"]: message for message in mailbox()}
    assert set(sent) == {EMAIL, "nobody@example.org"}
    assert "/accounts/password/reset/key/" in email_body(sent[EMAIL])
    unknown_body = email_body(sent["nobody@example.org"])
    assert "/accounts/" not in unknown_body, "no reset link, and no sign-up link"
    assert "Accounts are created by the council" in unknown_body
    assert django_settings.PORTAL_SUPPORT_EMAIL in unknown_body
    for message in sent.values():
        assert "!!MISSING" not in email_body(message) + str(message["Subject"])


def test_password_reset_with_an_invalid_email_shows_the_error_summary(client, db, mailbox):
    html = page_html(client.post(reverse("account_reset_password"), {"email": "not an email"}))
    assert title(html).startswith("Error: Reset your password – ")
    assert error_summary_targets(html) == ["id_email"]
    assert 'value="not an email"' in html
    assert mailbox() == []


def _reset_link(mailbox) -> str:
    (message,) = [m for m in mailbox() if m["To"] == EMAIL]
    body = email_body(message)
    assert "!!MISSING" not in body
    assert django_settings.COUNCIL_NAME in body
    assert "expires after 3 days" in body
    assert "Reset your provider portal password" in message["Subject"]
    match = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", body)
    assert match, body
    return match.group(1)


def test_the_reset_link_sets_a_new_password_and_works_only_once(client, jo, mailbox):
    client.post(reverse("account_reset_password"), {"email": EMAIL})
    link = _reset_link(mailbox)

    # allauth moves the key out of the address (into the session) before showing the form.
    response = client.get(link)
    assert response.status_code == 302
    form_url = response["Location"]
    html = page_html(client.get(form_url))
    assert "Create a new password" in html
    for field in ("id_password1", "id_password2"):
        control = re.search(rf'<input[^>]*id="{field}"[^>]*>', html).group(0)
        assert 'type="password"' in control
        assert 'autocomplete="new-password"' in control
    assert 'aria-describedby="id_password1-hint"' in html

    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    done = page_html(client.get(response["Location"]))
    assert "You have a new password" in done
    assert "Your password has been changed." in done

    jo.refresh_from_db()
    assert not jo.check_password(PASSWORD)
    assert jo.check_password(NEW_PASSWORD)
    old = Client().post(reverse("account_login"), {"login": EMAIL, "password": PASSWORD})
    assert old.status_code == 200, "the old password no longer signs in"
    new = Client().post(reverse("account_login"), {"login": EMAIL, "password": NEW_PASSWORD})
    assert new.status_code == 302
    assert new["Location"] == reverse("home")

    # The same link again, in this browser and in another one.
    for browser in (client, Client()):
        again = browser.get(link, follow=True)
        html = page_html(again)
        assert "Your password reset link is not valid" in html
        assert "has already been used" in html
        assert f'href="{reverse("account_reset_password")}">Get a new link' in html
        assert "<form" not in html.split('id="main-content"')[1].split("</main>")[0]

    # Posting to the form again does not change the password either.
    client.post(form_url, {"password1": "yet-another-password-3", "password2": "yet-another-password-3"})
    jo.refresh_from_db()
    assert jo.check_password(NEW_PASSWORD)


def test_a_rejected_new_password_shows_the_error_summary(client, jo, mailbox):
    client.post(reverse("account_reset_password"), {"email": EMAIL})
    form_url = client.get(_reset_link(mailbox))["Location"]

    html = page_html(
        client.post(form_url, {"password1": NEW_PASSWORD, "password2": "something-else-entirely"})
    )
    assert title(html).startswith("Error: Create a new password – ")
    assert error_summary_targets(html) == ["id_password2"]
    assert NEW_PASSWORD not in html

    html = page_html(client.post(form_url, {"password1": "short", "password2": "short"}))
    assert "id_password1" in error_summary_targets(html)
    control = re.search(r'<input[^>]*id="id_password1"[^>]*>', html).group(0)
    assert 'aria-describedby="id_password1-hint id_password1-error"' in control
    jo.refresh_from_db()
    assert jo.check_password(PASSWORD)


# Signed-in password pages ----------------------------------------------------------------------------


def test_changing_the_password(signed_in_client, jo):
    url = reverse("account_change_password")
    html = page_html(signed_in_client.post(url, {"oldpassword": "wrong", "password1": "", "password2": ""}))
    assert title(html).startswith("Error: Change your password – ")
    assert error_summary_targets(html)[0] == "id_oldpassword"

    response = signed_in_client.post(
        url, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    html = page_html(signed_in_client.get(response["Location"]))
    assert "Your password has been changed." in html
    jo.refresh_from_db()
    assert jo.check_password(NEW_PASSWORD)


def test_reauthenticating_with_a_wrong_password(signed_in_client):
    html = page_html(signed_in_client.post(reverse("account_reauthenticate"), {"password": "wrong"}))
    assert title(html).startswith("Error: ")
    assert error_summary_targets(html) == ["id_password"]


def test_the_email_page_offers_no_changes(signed_in_client):
    html = page_html(signed_in_client.get(reverse("account_email")))
    assert EMAIL in html
    assert "<form" not in html.split('id="main-content"')[1].split("</main>")[0]


def test_a_second_email_address_cannot_be_added(signed_in_client, jo):
    signed_in_client.post(reverse("account_email"), {"action_add": "", "email": "another@example.org"})
    assert list(EmailAddress.objects.filter(user=jo).values_list("email", flat=True)) in ([], [EMAIL])
    assert not EmailAddress.objects.filter(email="another@example.org").exists()


# allauth's own templates, through the portal's elements -----------------------------------------------


def test_allauths_elements_render_gov_uk_markup(db):
    """Pages without a template of the portal's own still come out in GOV.UK markup."""
    from allauth.account.forms import ResetPasswordForm

    request = RequestFactory().get("/accounts/")
    request.user = User(email="someone@example.org")
    request.csp_nonce = "n"
    form = ResetPasswordForm(data={"email": "not an email"})
    source = """{% extends "allauth/layouts/entrance.html" %}{% load allauth %}
        {% block head_title %} A page {% endblock %}
        {% block content %}
          {% element h1 %}A page{% endelement %}
          {% element p %}Some text{% endelement %}
          {% element alert %}{% slot message %}Careful{% endslot %}{% endelement %}
          {% element form form=form method="post" action="/x/" %}
            {% slot body %}{% element fields form=form %}{% endelement %}
              {% element field type="email" id="other" name="other" value="a@b.c" errors=form.email.errors %}
                {% slot label %}Other{% endslot %}{% slot help_text %}A hint{% endslot %}
              {% endelement %}
            {% endslot %}
            {% slot actions %}{% element button_group %}
              {% element button type="submit" %}Go{% endelement %}
              {% element button href="/y/" tags="outline" %}Elsewhere{% endelement %}
            {% endelement %}{% endslot %}
          {% endelement %}
          {% element details %}{% slot summary %}More{% endslot %}{% slot body %}Detail{% endslot %}{% endelement %}
          {% element badge tags="success" %}Verified{% endelement %}
          {% element hr %}{% endelement %}
        {% endblock %}"""
    # A named origin: allauth's element tag looks for the layout in the {% extends %} chain by name.
    origin = Origin(name="elements-test.html", template_name="elements-test.html")
    template = Template(source, origin=origin, engine=engines["django"].engine)
    html = template.render(RequestContext(request, {"form": form}))
    assert "!!MISSING" not in html, re.findall(r"!!MISSING \{[^}]*\}!!", html)
    assert "<title>Error: A page" + TITLE_SUFFIX in html
    assert '<h1 class="govuk-heading-l">A page</h1>' in html
    assert '<p class="govuk-body">Some text</p>' in html
    assert '<div class="govuk-inset-text">Careful</div>' in html
    assert error_summary_targets(html) == ["id_email"]
    assert "novalidate" in html
    other = re.search(r'<input[^>]*id="other"[^>]*>', html).group(0)
    assert "govuk-input govuk-input--error" in other
    assert 'aria-describedby="other-hint other-error"' in other
    assert (
        '<p id="other-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span>'
        in html
    )
    assert '<div class="govuk-button-group">' in html
    assert re.search(
        r'<button class="govuk-button" data-module="govuk-button" type="submit">Go</button>', html
    )
    assert 'class="govuk-button govuk-button--secondary"' in html
    assert '<details class="govuk-details">' in html
    assert '<strong class="govuk-tag govuk-tag--green">Verified</strong>' in html
    assert "govuk-section-break--visible" in html
    assert "placeholder=" not in html


def test_allauths_own_signup_template_renders_through_the_elements(db):
    """allauth's signup.html (never shown: sign-up is closed) stands for every page left to the elements."""
    from allauth.account.forms import SignupForm
    from allauth.account.internal.templatekit import get_entrance_context_data
    from django.template.loader import render_to_string

    request = RequestFactory().post("/accounts/signup/")
    request.user = User()
    request.csp_nonce = "n"
    form = SignupForm(data={"email": "", "password1": ""})
    context = {"form": form, "redirect_field": "", **get_entrance_context_data(request)}
    html = render_to_string("account/signup.html", context, request)
    assert "!!MISSING" not in html, re.findall(r"!!MISSING \{[^}]*\}!!", html)
    assert 'class="govuk-template' in html
    assert title(html).startswith("Error: ")
    assert set(error_summary_targets(html)) == {"id_email", "id_password1"}
    assert '<h1 class="govuk-heading-l">' in html
    assert 'data-module="govuk-password-input"' in html
    assert "placeholder=" not in html
