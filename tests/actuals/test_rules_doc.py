"""docs/exception-rules.md is generated from the rules (CONVENTIONS.md §7), and the committed file is
what the command generates now: a rule changed without the docs fails here."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from actuals.management.commands.actuals_rules_doc import DOC_PATH, rules_markdown
from actuals.rules import RULES


def test_the_committed_file_is_what_the_command_generates() -> None:
    committed = Path(settings.BASE_DIR, DOC_PATH)
    assert committed.read_text() == rules_markdown(), "run: manage.py actuals_rules_doc"
    out = StringIO()
    call_command("actuals_rules_doc", "--check", stdout=out)
    assert f"is up to date ({len(RULES)} rules)" in out.getvalue()


def test_the_command_writes_every_rule_with_its_severity_text_and_explanation(tmp_path: Path) -> None:
    output = tmp_path / "rules.md"
    call_command("actuals_rules_doc", "--output", str(output), stdout=StringIO())
    text = output.read_text()
    assert text.startswith("# Exception rules\n")
    assert "Generated from `actuals/rules.py` by `manage.py actuals_rules_doc`" in text
    rows = [line for line in text.splitlines() if line.startswith("| ACT-")]
    assert [row.split(" | ")[0] for row in rows] == [f"| {r.id}" for r in RULES]
    assert (
        "| ACT-01 | Blocking | Quantities must be whole steps of the service type's unit. | Home support is "
        "recorded in quarter hours (0.25); sessions, nights, trips and meals in whole units. |"
    ) in rows
    assert "| ACT-14 | Acknowledge | The person was reported deceased during the week. | – |" in rows


def test_check_fails_on_a_stale_file_and_writes_nothing(tmp_path: Path) -> None:
    stale = tmp_path / "rules.md"
    stale.write_text(rules_markdown().replace("ACT-13", "ACT-99"))
    with pytest.raises(CommandError, match="is out of date"):
        call_command("actuals_rules_doc", "--check", "--output", str(stale))
    assert "ACT-99" in stale.read_text()
    with pytest.raises(CommandError, match="is out of date"):
        call_command("actuals_rules_doc", "--check", "--output", str(tmp_path / "missing.md"))
