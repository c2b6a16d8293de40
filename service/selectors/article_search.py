"""The knowledge-base search, one for the inside list, the public pages and a ticket's suggestions.

The query is cut into words as the articles were (service.segment) and matched against the stored tsvector with
prefix matching (`退:*` finds 退款), ranked by ts_rank (title words weigh more than body words); pg_trgm's word
similarity on the title catches typos and short fragments the words miss. Both conditions use their GIN index.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils.safestring import SafeString

from service.kb_models import Article
from service.markdown import plain_text
from service.segment import highlight, query_words, snippet

MAX_QUERY = 200


@dataclass
class Hit:
    article: Article
    title: SafeString
    snippet: SafeString


def _tsquery(words: list[str], *, any_word: bool) -> SearchQuery | None:
    if not words:
        return None
    joiner = " | " if any_word else " & "
    # query_words keeps letters, digits and ideographs only, so each word is a plain lexeme in the raw syntax.
    return SearchQuery(joiner.join(f"{w}:*" for w in words), search_type="raw", config="simple")


def article_search(queryset: QuerySet[Article], text: str, *, any_word: bool = False) -> tuple[QuerySet, list[str]]:
    """`queryset` narrowed to the articles matching `text`, best first, and the query's words (for highlighting).

    `any_word` ranks articles matching any of the words (ticket suggestions); otherwise every word must match,
    or the title must be similar to the whole query (a typo)."""
    text = " ".join((text or "").split())[:MAX_QUERY]
    words = query_words(text, drop_common=any_word)
    query = _tsquery(words, any_word=any_word)
    if query is None:
        return queryset.none(), []
    similarity = TrigramWordSimilarity(Value(text), "title")
    condition = Q(search_vector=query)
    if not any_word:
        condition |= Q(title__trigram_word_similar=text)
    qs = (
        queryset.filter(condition)
        .annotate(
            rank=Greatest(
                Coalesce(SearchRank(F("search_vector"), query), Value(0.0), output_field=FloatField()),
                similarity * Value(0.5),
                output_field=FloatField(),
            )
        )
        .order_by("-rank", "-updated_at", "pk")
    )
    return qs, words


def hits(articles, words: list[str]) -> list[Hit]:
    """Each article with its title and a snippet of its text highlighted, escaped and safe to show."""
    return [
        Hit(article=a, title=highlight(a.title, words), snippet=snippet(a.summary or plain_text(a.body), words))
        for a in articles
    ]


def suggestions_for_ticket(queryset: QuerySet[Article], ticket, limit: int = 5) -> list[Hit]:
    """The articles that best answer a ticket: the same search over its subject and description, any word."""
    qs, words = article_search(queryset, f"{ticket.subject} {ticket.description[:500]}", any_word=True)
    return hits(qs.select_related("category")[:limit], words)
