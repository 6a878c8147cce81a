"""The actuals suite's `week` fixture (WEEK, the clock on the Monday after it), for disputes about lines."""

from tests.actuals.conftest import week  # noqa: F401
