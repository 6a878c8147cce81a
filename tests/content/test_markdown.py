"""Markdown written by portal administrators is shown inert whatever it holds: script, event handlers,
javascript: links and raw HTML come out as text or not at all; what is kept carries GOV.UK classes."""

from __future__ import annotations

import pytest

from portal.content.markdown import ALLOWED_TAGS, markdown_render, sanitise


def test_a_script_is_shown_as_text() -> None:
    html = markdown_render("Before\n\n<script>alert('x')</script>\n\nAfter")
    assert "<script" not in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html


def test_an_image_with_onerror_is_shown_as_text() -> None:
    html = markdown_render('<img src="x" onerror="alert(1)">')
    assert "<img" not in html
    assert "onerror" in html and "&lt;img" in html  # the text typed, escaped


def test_raw_html_is_shown_as_text_not_as_markup() -> None:
    html = markdown_render('<a href="https://example.org" class="evil" style="x">raw</a> and <b>bold</b>')
    assert "<a " not in html and "<b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java%0Ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "//evil.example.com/x",
        "ftp://example.org/file",
        "relative/path",
    ],
)
def test_a_link_to_anything_but_http_https_mailto_or_this_site_is_not_a_link(href: str) -> None:
    html = markdown_render(f"[click me]({href})")
    assert "<a" not in html, html
    assert "click me" in html


@pytest.mark.parametrize(
    "href",
    [
        "https://www.gov.uk/",
        "http://example.org/a?b=c",
        "mailto:portal@example.org",
        "/guidance/contacts/",
        "#top",
    ],
)
def test_links_that_are_kept_are_govuk_links_with_noopener_noreferrer(href: str) -> None:
    html = markdown_render(f"[where]({href})")
    assert 'class="govuk-link"' in html
    assert 'rel="noopener noreferrer"' in html
    assert 'href="' in html


def test_a_backslash_path_stays_on_this_site() -> None:
    """Browsers read "/\\host" as "//host": markdown-it escapes the backslash, the sanitiser drops it."""
    assert 'href="/%5Cevil.example.com/x"' in markdown_render("[x](/\\evil.example.com/x)")
    assert "href" not in sanitise('<a href="/\\evil.example.com/x">x</a>')


def test_an_email_autolink_is_a_mailto_link() -> None:
    html = markdown_render("Email <portal@example.org>")
    assert 'href="mailto:portal@example.org"' in html


def test_the_sanitiser_alone_removes_what_the_renderer_might_let_through() -> None:
    dirty = (
        '<p class="evil" onclick="x()">Hi <a href="javascript:x()" target="_blank">a</a></p>'
        '<img src=x onerror=alert(1)><script>alert(1)</script><iframe src="https://x"></iframe>'
        '<a href="https://ok.example.org" class="big-red">ok</a><h1>Top</h1><style>p{}</style>'
    )
    clean = sanitise(dirty)
    for bad in (
        "onclick",
        "javascript",
        "<img",
        "<script",
        "alert(1)",
        "<iframe",
        "big-red",
        "evil",
        "target",
        "<h1",
        "<style",
    ):
        assert bad not in clean, (bad, clean)
    assert '<p class="govuk-body">' in clean
    assert '<a href="https://ok.example.org" class="govuk-link" rel="noopener noreferrer">ok</a>' in clean


def test_headings_lists_emphasis_and_tables_get_govuk_classes() -> None:
    text = """# Contacts

Some **bold** and *emphasis*.

- one
- two

1. first

| What | Who |
| --- | ---: |
| Payments | Payments team |
"""
    html = markdown_render(text)
    assert '<h2 class="govuk-heading-m">Contacts</h2>' in html
    assert "<strong>bold</strong>" in html and "<em>emphasis</em>" in html
    assert '<ul class="govuk-list govuk-list--bullet">' in html
    assert '<ol class="govuk-list govuk-list--number">' in html
    assert '<table class="govuk-table">' in html
    assert '<th scope="col" class="govuk-table__header">What</th>' in html
    assert '<td class="govuk-table__cell">Payments</td>' in html
    assert "style=" not in html  # the column alignment is dropped with every other style


def test_headings_fit_under_the_page_or_banner_heading() -> None:
    """ "##" is a section of the page (h2 on a page, h3 in a banner); "#" would be a second page title, so
    it is a section too."""
    html = markdown_render("# A\n\n## B\n\n### C")
    assert '<h2 class="govuk-heading-m">A</h2>' in html and '<h2 class="govuk-heading-m">B</h2>' in html
    assert '<h3 class="govuk-heading-s">C</h3>' in html
    assert markdown_render("## A", top_heading=3).startswith("<h3")
    assert markdown_render("### A", top_heading=3).startswith("<h4")
    assert markdown_render("###### Deep", top_heading=3).startswith("<h6")


def test_only_allow_listed_tags_come_out() -> None:
    import re

    html = markdown_render(
        "# a\n\n> quote\n\n---\n\n`code`\n\n![alt](https://example.org/i.png)\n\nline  \nbreak"
    )
    tags = set(re.findall(r"<([a-z0-9]+)", html))
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert '<blockquote class="govuk-inset-text">' in html


def test_empty_text_renders_nothing() -> None:
    assert markdown_render("") == ""
