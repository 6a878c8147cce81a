"""The council's inbox as an Excel workbook (the filters applied): every text cell only ever text."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from openpyxl import Workbook

from disputes.models import Thread
from disputes.templatetags.disputes import RAG
from portal.clock import LONDON
from portal.spreadsheets import text_cell

HEADINGS = [
    "Reference", "Kind", "Query type", "Subject", "Provider", "Provider reference", "Person", "Team",
    "Assigned to", "State", "Outcome", "Due", "Status", "Raised", "Latest message",
]  # fmt: skip


def _london(moment: dt.datetime) -> dt.datetime:
    """Excel has no time zones: the time as London read it."""
    return moment.astimezone(LONDON).replace(tzinfo=None)


def threads_workbook(threads: Iterable[Thread], *, today: dt.date) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Messages")
    sheet.append(HEADINGS)
    for thread in threads:
        rag = thread.rag(today)
        texts = [
            thread.subject,
            thread.provider.name,
            thread.person.name if thread.person else "",
            thread.assignee.get_full_name() or thread.assignee.email if thread.assignee else "",
        ]
        subject, provider, person, assignee = (text_cell(sheet, text) for text in texts)
        sheet.append(
            [
                thread.ref, thread.get_kind_display(), thread.get_query_type_display() if thread.query_type else "",
                subject, provider, thread.provider.ref, person, thread.team.name, assignee,
                thread.get_state_display(), thread.get_outcome_display() if thread.outcome else "", thread.due_on,
                RAG[rag][1] if rag else "", _london(thread.raised_at), _london(thread.last_message_at),
            ]
        )  # fmt: skip
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
