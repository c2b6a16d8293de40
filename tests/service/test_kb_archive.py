"""Archiving and deleting knowledge-base articles: an archived article leaves the public help centre and the ticket
suggestions and comes back when restored; a deleted one is gone everywhere (soft, audited, after a confirmation
page); both by the desk only, another company's article 404. The public help centre names its company."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from crm.errors import DomainError
from crm.models import AuditEvent
from service.kb_models import Article
from service.services.article import ArticleData, article_archive, article_create, article_delete, article_unarchive

from .helpers import make_customer, make_ticket


def write(user, title, body="在订单页面点击申请退款。"):
    data = ArticleData(title=title, body=body, visibility="public", status="published")
    return article_create(acting_user=user, data=data)


@pytest.mark.django_db
def test_an_archived_article_leaves_the_help_centre_and_suggestions_until_restored(world_a, client_for):
    article = write(world_a.agent, "如何申请退款")
    customer, contact = make_customer(world_a.rep1)
    ticket = make_ticket(world_a, customer, contact, subject="申请退款", description="怎么退款？")
    agent, public = client_for(world_a.agent), Client()
    public_url = f"/f/{world_a.tenant.slug}/kb/{article.slug}/"
    assert public.get(public_url).status_code == 200

    response = agent.post(f"/kb/{article.pk}/archive/")
    assert response.status_code == 302 and response["Location"] == f"/kb/{article.pk}/"
    article.refresh_from_db()
    assert article.archived_at is not None and article.status == "published"
    assert public.get(public_url).status_code == 404
    assert "如何申请退款" not in public.get(f"/f/{world_a.tenant.slug}/kb/", {"q": "退款"}).content.decode()
    assert "如何申请退款" not in agent.get(f"/tickets/{ticket.pk}/articles/").content.decode()
    # Inside: off the list, on the "Archived" list and its own page for the desk; gone for a rep.
    assert "如何申请退款" not in agent.get("/kb/").content.decode()
    assert "如何申请退款" in agent.get("/kb/", {"status": "archived"}).content.decode()
    assert 'data-testid="unarchive-article"' in agent.get(f"/kb/{article.pk}/").content.decode()
    assert client_for(world_a.rep1).get(f"/kb/{article.pk}/").status_code == 404
    with pytest.raises(DomainError):
        article_archive(acting_user=world_a.agent, article=article)

    assert agent.post(f"/kb/{article.pk}/unarchive/").status_code == 302
    article.refresh_from_db()
    assert article.archived_at is None and public.get(public_url).status_code == 200
    assert "如何申请退款" in agent.get(f"/tickets/{ticket.pk}/articles/").content.decode()
    actions = list(AuditEvent.objects.filter(object_id=str(article.pk)).values_list("action", flat=True))
    assert "article.archive" in actions and "article.unarchive" in actions


@pytest.mark.django_db
def test_deleting_asks_first_then_hides_the_article_everywhere(world_a, client_for):
    article = write(world_a.agent, "如何开发票")
    agent = client_for(world_a.agent)
    confirm = agent.get(f"/kb/{article.pk}/delete/")
    assert confirm.status_code == 200 and 'data-testid="confirm-delete"' in confirm.content.decode()
    assert Article.objects.filter(pk=article.pk, deleted_at__isnull=True).exists()  # asking deletes nothing
    response = agent.post(f"/kb/{article.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/kb/"
    assert Article.objects.filter(pk=article.pk, deleted_at__isnull=False).exists()  # soft: the row stays
    assert agent.get(f"/kb/{article.pk}/").status_code == 404
    assert agent.post(f"/kb/{article.pk}/delete/").status_code == 404
    assert "如何开发票" not in agent.get("/kb/").content.decode()
    assert "如何开发票" not in agent.get("/kb/", {"status": "archived"}).content.decode()
    assert Client().get(f"/f/{world_a.tenant.slug}/kb/{article.slug}/").status_code == 404
    event = AuditEvent.objects.get(action="article.delete")
    assert event.actor == world_a.agent and event.details["title"] == "如何开发票"
    with pytest.raises(DomainError):
        article_delete(acting_user=world_a.agent, article=article)


@pytest.mark.django_db
def test_only_the_desk_archives_and_deletes(world_a, client_for):
    article = write(world_a.agent, "如何改地址")
    rep = client_for(world_a.rep1)
    assert rep.post(f"/kb/{article.pk}/archive/").status_code == 403
    assert rep.get(f"/kb/{article.pk}/delete/").status_code == 403
    assert rep.post(f"/kb/{article.pk}/delete/").status_code == 403
    with pytest.raises(PermissionDenied):
        article_unarchive(acting_user=world_a.rep1, article=article)
    article.refresh_from_db()
    assert article.archived_at is None and article.deleted_at is None
    assert not AuditEvent.objects.filter(action__in=["article.archive", "article.delete"]).exists()


@pytest.mark.django_db
def test_another_companys_article_is_404(world_a, world_b, client_for):
    article = write(world_a.agent, "如何退货")
    outsider = client_for(world_b.admin)
    for url in (f"/kb/{article.pk}/archive/", f"/kb/{article.pk}/unarchive/", f"/kb/{article.pk}/delete/"):
        assert outsider.post(url).status_code == 404
    assert outsider.get(f"/kb/{article.pk}/delete/").status_code == 404
    article.refresh_from_db()
    assert article.archived_at is None and article.deleted_at is None


@pytest.mark.django_db
def test_the_list_with_archived_articles_keeps_its_queries_bounded(world_a, client_for, django_assert_max_num_queries):
    for n in range(12):
        article = write(world_a.agent, f"常见问题 {n}")
        if n % 2:
            article_archive(acting_user=world_a.agent, article=article)
    agent = client_for(world_a.agent)
    with django_assert_max_num_queries(12):
        html = agent.get("/kb/", {"status": "archived"}).content.decode()
    assert html.count('data-testid="kb-hit"') == 6


@pytest.mark.django_db
def test_the_public_help_centre_names_its_company(world_a):
    write(world_a.agent, "如何申请退款")
    html = Client().get(f"/f/{world_a.tenant.slug}/kb/").content.decode()
    assert f'<span data-testid="public-company-name">{world_a.tenant.name}</span>' in html
