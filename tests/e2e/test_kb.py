"""The knowledge base in the browser: an agent writes an article in Markdown, finds it by a Chinese word, sees it
suggested on a customer's ticket and inserts it into the reply in one click (the article counts the use); a
customer reads it on the public help center at phone width, in Chinese, and says it helped."""

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from customers.services.customer import customer_create
from service.kb_models import Article
from service.services.ticket import ticket_create

from ..conftest import wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def log_in(page, email, password):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_write_find_suggest_insert_and_read_publicly(e2e_new_page, redis_test_db):
    tenant = tenant_create(
        name="E2E 知识库公司",
        slug="e2e-kb",
        admin_email="admin@e2ekb.test",
        admin_password="Adm1n-pass-e2e",
        language="zh-hans",
    )
    admin = User.objects.get(email="admin@e2ekb.test")
    desk = Team.objects.create(tenant=tenant, name="客服部")
    desk.path = f"/{desk.pk}/"
    desk.save(update_fields=["path"])
    User.objects.create_user(
        email="agent@e2ekb.test",
        password="Agent-pass-e2e-1",
        tenant=tenant,
        full_name="陈静",
        roles=["agent"],
        team=desk,
    )
    customer = customer_create(
        acting_user=admin,
        data={"name": "杭州云帆科技有限公司"},
        contact={"name": "张三", "mobile": "13812345678", "email": "zhang.san@yunfan.example"},
    )
    ticket = ticket_create(
        tenant=tenant,
        acting_user=admin,
        customer=customer,
        subject="订单想申请退款",
        description="上周下的订单不需要了，怎么退款？",
    )

    page = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(page, "agent@e2ekb.test", "Agent-pass-e2e-1")
    page.goto("/kb/")
    page.click("[data-testid=new-article]")
    form = page.locator("[data-testid=article-form]")
    form.locator("input[name=title]").fill("如何申请退款")
    form.locator("textarea[name=body]").fill("在 **我的订单** 页面点击申请退款。<script>alert(1)</script>")
    form.locator("select[name=visibility]").select_option("public")
    form.locator("select[name=status]").select_option("published")
    form.locator("[data-testid=save-article]").click()
    expect(page.locator("[data-testid=article-title]")).to_have_text("如何申请退款")
    expect(page.locator("[data-testid=article-body] strong")).to_have_text("我的订单")
    expect(page.locator("[data-testid=article-body]")).to_contain_text("<script>alert(1)</script>")

    # Found by a Chinese word, highlighted.
    page.goto("/kb/")
    page.fill("[data-testid=kb-search]", "退款")
    expect(page.locator("[data-testid=kb-hit] mark").first).to_have_text("退款")
    expect(page.locator("[data-testid=kb-hit]")).to_have_count(1)

    # Suggested on the ticket; one click puts it into the reply and counts the use.
    page.goto(f"/tickets/{ticket.pk}/")
    suggestion = page.locator("[data-testid=kb-suggestion]")
    expect(suggestion).to_contain_text("如何申请退款")
    suggestion.locator("[data-testid=insert-link]").click()
    expect(page.locator("[data-testid=reply-form] textarea[name=body]")).to_have_value(
        f"如何申请退款: http://{page.url.split('/')[2]}/f/e2e-kb/kb/ru-he-shen-qing-tui-kuan/"
    )
    article = Article.objects.get(tenant=tenant)
    assert wait_for(lambda: Article.objects.get(pk=article.pk).used_count == 1)

    # The customer reads it on the public help center, on a phone, in Chinese, and votes.
    phone = e2e_new_page(viewport="phone", locale="zh-CN")
    phone.goto("/f/e2e-kb/kb/?q=退款")
    phone.locator("[data-testid=public-kb-hit]").first.click()
    expect(phone.locator("[data-testid=public-article-title]")).to_have_text("如何申请退款")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-hans")
    phone.click("[data-testid=vote-yes]")
    expect(phone.locator("[data-testid=vote]")).to_contain_text("感谢您的反馈")
    assert Article.objects.get(pk=article.pk).helpful_yes == 1
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
