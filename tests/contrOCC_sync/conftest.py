"""The real simulated back office for the link's tests: one process per session, its faults cleared and
the portal pointed at it for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import backoffice_process
from tests.backoffice_process import BackOffice


@pytest.fixture(scope="session")
def backoffice_server(tmp_path_factory) -> Iterator[BackOffice]:
    server = backoffice_process.start(tmp_path_factory.mktemp("backoffice"))
    server.manage("seed_backoffice", "--scale", "demo", "--seed", "11", "--today", "2026-11-02")
    yield server
    backoffice_process.stop(server)


@pytest.fixture
def backoffice(backoffice_server: BackOffice, settings) -> BackOffice:
    settings.BACKOFFICE_URL = backoffice_server.url
    settings.BACKOFFICE_TOKEN = backoffice_server.token
    settings.BACKOFFICE_READ_TIMEOUT = 3
    backoffice_server.faults()
    return backoffice_server
