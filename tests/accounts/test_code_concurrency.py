"""A code is accepted once: twenty sign-ins racing with the same valid code, each on its own database
connection to the real PostgreSQL, give exactly one success."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from portal.accounts import services
from portal.accounts.services import AccountError, CodeMethod
from tests.conftest import current_code, enrol
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("method", [CodeMethod.APP, CodeMethod.BACKUP])
def test_twenty_parallel_sign_ins_with_one_code_give_one_success(method: str) -> None:
    assert connection.vendor == "postgresql", "row locks are what this proves: run it on PostgreSQL"
    user = UserFactory()
    device = enrol(user)
    code = current_code(device) if method == CodeMethod.APP else services.backup_codes_generate(user=user)[0]
    start = threading.Barrier(20)
    results: list[bool] = []

    def sign_in() -> None:
        try:
            start.wait()
            try:
                results.append(services.code_verify(user=user, method=method, token=code) is not None)
            except AccountError:  # refused: the replays before it made the device wait
                results.append(False)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_in) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 20
    assert results.count(True) == 1
