"""Word segmentation for the knowledge-base search, and a safe highlighter.

jieba cuts Chinese into words (its dictionary loads once per process, on first use, not at import); Latin words are
kept whole and lower-cased. The same cutting feeds the stored tsvector and the query, so both sides agree.
"""

from __future__ import annotations

import logging
import re
import threading

import jieba
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()
_ready = False

WORD = re.compile(r"\w", re.UNICODE)
# Words too common to narrow a search of ticket text (English; jieba keeps Chinese particles as one character,
# which the suggestion query drops).
STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in is it me my no not of on or our "
    "please so that the this to was we what when where which who why will with you your".split()
)


def _tokenizer():
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.initialize()
                _ready = True
    return jieba


def tokens(text: str) -> list[str]:
    """The words of `text` for search: jieba's search-mode cut (long words and their sub-words), lower-cased,
    punctuation and spaces dropped."""
    if not text:
        return []
    cut = _tokenizer().cut_for_search(text.lower())
    return [t for t in (w.strip() for w in cut) if t and WORD.search(t) and len(t) <= 100]


def segmented(text: str) -> str:
    """`text` as space-separated words: what to_tsvector('simple', …) parses."""
    return " ".join(tokens(text))


def query_words(text: str, *, drop_common: bool = False) -> list[str]:
    """The distinct words of a query (only letters, digits and ideographs, so they are safe in a tsquery)."""
    seen: list[str] = []
    for t in tokens(text):
        word = "".join(ch for ch in t if ch.isalnum() or ch == "_")
        if not word or word in seen:
            continue
        if drop_common and (word in STOPWORDS or (len(word) == 1 and not word.isascii())):
            continue
        seen.append(word)
    return seen[:32]


def highlight(text: str, words: list[str]) -> SafeString:
    """`text` escaped, with each of `words` wrapped in <mark> (case-insensitive); nothing of `text` stays raw."""
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above is escaped


def snippet(text: str, words: list[str], width: int = 160) -> SafeString:
    """A window of `text` around the first of `words` found, highlighted."""
    lower = text.lower()
    positions = [p for p in (lower.find(w) for w in words) if p >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    part = text[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return mark_safe(f"{escape(prefix)}{highlight(part, words)}{escape(suffix)}")  # noqa: S308 - escaped pieces
