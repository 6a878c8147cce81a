"""Markdown written by portal administrators, turned into HTML that is safe to show to everyone.

Two layers, each enough on its own for script: markdown-it-py parses CommonMark with raw HTML off (a
`<script>` typed in the text comes out as the text `&lt;script&gt;`) and refuses `javascript:`-like
links; nh3 (the Ammonia sanitiser) then keeps only an allow-list of tags and attributes, links only to
http, https, mailto or this site's own paths, and sets the GOV.UK classes itself, so a class the author
typed can never reach the page. Headings are moved down so the page's own title stays the only `<h1>`.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

# The sanitiser's allow-list: nothing outside it survives.
ALLOWED_TAGS = frozenset(
    {
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "ul",
        "ol",
        "li",
        "a",
        "strong",
        "em",
        "code",
        "blockquote",
    }
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"scope"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Set by the sanitiser on every such element, replacing whatever the author wrote.
GOVUK_CLASSES = {
    "h2": "govuk-heading-m",
    "h3": "govuk-heading-s",
    "h4": "govuk-heading-s",
    "h5": "govuk-heading-s",
    "h6": "govuk-heading-s",
    "p": "govuk-body",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "a": "govuk-link",
    "hr": "govuk-section-break govuk-section-break--m govuk-section-break--visible",
    "blockquote": "govuk-inset-text",
    "table": "govuk-table",
    "thead": "govuk-table__head",
    "tbody": "govuk-table__body",
    "tr": "govuk-table__row",
    "th": "govuk-table__header",
    "td": "govuk-table__cell",
}
# One attribute a tag: nh3 sets several in no fixed order, and the stored HTML should not change when it
# is rendered again.
_SET_ATTRIBUTES = {tag: {"class": css} for tag, css in GOVUK_CLASSES.items()}
# A link the sanitiser keeps: a scheme it allows, a fragment, or a path on this site ("/guidance/…"). A
# path starting "//" or "/\" is another site to a browser, and a bare relative path is never meant.
_HREF_ALLOWED = re.compile(r"^(?:https?:|mailto:|#|/(?![/\\]))", re.IGNORECASE)

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_parser.disable("image")  # an image would be stripped with its alt text; shown as the text typed instead
_default_validate_link = _parser.validateLink


def _validate_link(url: str) -> bool:
    """markdown-it's own check (no javascript:, vbscript:, file:, data:) and ours: a link the sanitiser
    would strip is left as the text typed rather than becoming a link to nowhere."""
    return _default_validate_link(url) and bool(_HREF_ALLOWED.match(url.strip()))


_parser.validateLink = _validate_link  # type: ignore[method-assign]


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value if _HREF_ALLOWED.match(value.strip()) else None
    if tag == "th" and attribute == "scope":
        return value if value in ("col", "row") else None
    return value


def sanitise(html: str) -> str:
    """Keep only the allow-list, with GOV.UK classes set and rel="noopener noreferrer" on links."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        set_tag_attribute_values=_SET_ATTRIBUTES,
        strip_comments=True,
    )


def markdown_render(text: str, *, top_heading: int = 2) -> str:
    """The sanitised HTML of `text`. A Markdown "## heading" (a section: "#" is the page's own title, so
    it is read as "##" too) becomes `<h{top_heading}>`, "###" the level below, and so on (at most h6):
    the page or banner around the text owns the levels above."""
    tokens = _parser.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = max(int(token.tag[1]), 2) + top_heading - 2
            token.tag = f"h{min(level, 6)}"
        elif token.type == "th_open":  # a Markdown table's header cells are its first row's
            token.attrs = {"scope": "col"}
    html = _parser.renderer.render(tokens, _parser.options, {})
    return sanitise(html).strip()
