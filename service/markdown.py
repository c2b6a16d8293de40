"""Markdown to safe HTML for knowledge-base articles.

markdown-it-py (CommonMark plus tables and strikethrough) with raw HTML switched off, so `<script>` or an
`onerror=` attribute typed into an article comes out as text; then nh3 keeps only the tags, attributes and URL
schemes listed here, as a second line of defence (a `javascript:` link loses its href).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str) -> str:
    """The article's Markdown as HTML that is safe to show to anyone."""
    html = _parser.render(text or "")
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def plain_text(text: str) -> str:
    """The article's words without Markdown or HTML: for snippets and meta descriptions."""
    return " ".join(nh3.clean(_parser.render(text or ""), tags=set()).split())
