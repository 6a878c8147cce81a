"""Passwords are stored with Argon2id at OWASP's parameters; a password stored with PBKDF2 still signs in
and is stored again with Argon2id."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from portal.accounts.hashers import Argon2idPasswordHasher
from portal.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough passphrase"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]


def test_passwords_are_stored_with_argon2id_at_owasps_parameters(production_hashers) -> None:
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert isinstance(identify_hasher(encoded), Argon2idPasswordHasher)
    assert check_password(PASSWORD, encoded) and not check_password("another passphrase", encoded)


def test_a_pbkdf2_password_still_checks_and_is_stored_again_with_argon2id(production_hashers) -> None:
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
