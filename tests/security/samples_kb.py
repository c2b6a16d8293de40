"""Sample URL arguments for the knowledge base's patterns (see samples_crm.py for the contract).

Each tenant gets an internal article carrying its marker (never on the public pages) and a public one without it,
whose public page the sweep opens anonymously with tenant A's company address."""

from service.kb_models import Article
from service.services.article import ArticleData, article_create

from .marks import named
from .samples_service import plant as plant_service


def plant(world) -> dict:
    tenant = world.tenant
    internal = Article.objects.filter(tenant=tenant, title=named(world, "MARKA internal article")).first()
    if internal is None:
        internal = article_create(
            acting_user=world.agent,
            data=ArticleData(
                title=named(world, "MARKA internal article"),
                body=named(world, "MARKA body"),
                visibility="internal",
                status="published",
            ),
        )
        article_create(
            acting_user=world.agent,
            data=ArticleData(
                title="Public help article", body="How to ask for a refund.", visibility="public", status="published"
            ),
        )
    public = Article.objects.get(tenant=tenant, title="Public help article")
    return {"internal": internal, "public": public, "ticket": plant_service(world)["ticket"]}


def _own(world, title: str) -> dict:
    """An article of its own for archiving and deleting (a new one once the viewer's check deleted it)."""
    article = Article.objects.filter(tenant=world.tenant, title=named(world, title), deleted_at__isnull=True).first()
    if article is None:
        data = ArticleData(title=named(world, title), body=named(world, "MARKA body"), visibility="internal")
        article = article_create(acting_user=world.agent, data=data)
    return {"pk": article.pk}


SAMPLES = {
    "service:ticket_articles": lambda w: {"pk": plant(w)["ticket"].pk},
    "service:kb_detail": lambda w: {"pk": plant(w)["internal"].pk},
    "service:kb_edit": lambda w: {"pk": plant(w)["internal"].pk},
    "service:kb_use": lambda w: {"pk": plant(w)["internal"].pk},
    "service:kb_restore": lambda w: {"pk": plant(w)["internal"].pk, "number": 1},
    "service:kb_archive": lambda w: _own(w, "MARKA archive me"),
    "service:kb_unarchive": lambda w: _own(w, "MARKA archive me"),
    "service:kb_delete": lambda w: _own(w, "MARKA delete me"),
    "service:public_kb": lambda w: {"tenant": w.tenant.slug},
    "service:public_kb_article": lambda w: {"tenant": w.tenant.slug, "slug": plant(w)["public"].slug},
    "service:public_kb_vote": lambda w: {"tenant": w.tenant.slug, "slug": plant(w)["public"].slug},
}

# The public help centre's header names its company (test_url_sweep.company_header): that one element only.
SHOWS_COMPANY_NAME = {
    "service:public_kb": "the help centre's header names the company whose help it is",
    "service:public_kb_article": "the help centre's header names the company whose help it is",
}

PUBLIC = {
    "service:public_kb": "the company's public help center: published public articles only",
    "service:public_kb_article": "one published public article of the company",
    "service:public_kb_vote": "'was this helpful?' on a public article (rate-limited per address and article)",
}
