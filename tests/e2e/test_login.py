"""Logging in and out in a real browser, at desktop and phone width, in English and in Simplified Chinese.

Language precedence (DESIGN.md §6): the user's own setting, then the tenant's, then the browser (the language
cookie or Accept-Language). The tenant here speaks zh-hans and the rep starts without a language of their own.
"""

import re
from collections.abc import Callable

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from crm.models import Tenant, User
from crm.services.tenant import tenant_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    # WhiteNoise warns that STATIC_ROOT is missing; tests serve static files without collectstatic (DESIGN.md §9).
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ADMIN_EMAIL = "admin@e2e.test"
ADMIN_PASSWORD = "admin-e2e-Passw0rd"
REP_EMAIL = "rep@e2e.test"
REP_PASSWORD = "rep-e2e-Passw0rd"
REP_NAME = "王小明"

# The browser starts in the *other* language, so the language buttons are what changes the page.
OTHER_BROWSER_LOCALE = {"en": "zh-CN", "zh-hans": "en-US"}


def make_tenant_with_rep() -> tuple[Tenant, User]:
    tenant = tenant_create(
        name="E2E 公司",
        slug="e2e",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        admin_name="李管理",
        language="zh-hans",
    )
    rep = User.objects.create_user(
        email=REP_EMAIL, password=REP_PASSWORD, tenant=tenant, full_name=REP_NAME, roles=["rep"], team=None
    )
    return tenant, rep


def translated(language: str, message: str, **values: str) -> str:
    """What the page should show: the catalog's translation when there is one, else the English text."""
    with translation.override(language):
        text = translation.gettext(message)
    return text % values if values else text


def log_in(page: Page, email: str, password: str) -> None:
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")


def open_main_nav(page: Page, viewport: str) -> None:
    """On a phone the navigation sits collapsed behind the toggler; on a desktop it is always shown."""
    nav = page.locator("[data-testid=main-nav]")
    if viewport == "phone":
        expect(nav).to_be_hidden()
        page.click(".navbar-toggler")
        # Bootstrap sets "show" only once the collapse transition has ended; clicking during it can miss.
        expect(page.locator("#mainnav")).to_have_class(re.compile(r"\bshow\b"))
    expect(nav).to_be_visible()


def log_out(page: Page, base_url: str) -> None:
    page.click("[data-testid=user-menu]")
    logout = page.locator("[data-testid=logout]")
    expect(logout).to_be_visible()
    logout.click()
    expect(page).to_have_url(f"{base_url}/login/")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_rep_logs_in_and_out_in_each_language_and_width(
    e2e_new_page: Callable[..., Page], e2e_base_url: str, viewport: str, language: str
):
    tenant, rep = make_tenant_with_rep()
    other = "zh-hans" if language == "en" else "en"
    page = e2e_new_page(viewport=viewport, locale=OTHER_BROWSER_LOCALE[language])
    html = page.locator("html")

    # The login page first speaks the browser's language; its language buttons switch it.
    page.goto("/login/")
    expect(html).to_have_attribute("lang", other)
    page.click(f"[data-testid=lang-{language}]")
    expect(page).to_have_url(f"{e2e_base_url}/login/")
    expect(html).to_have_attribute("lang", language)
    expect(page.locator(f"[data-testid=lang-{language}]")).to_have_attribute("aria-current", "true")
    expect(page.locator("[data-testid=login-submit]")).to_have_text(translated(language, "Log in"))

    log_in(page, REP_EMAIL, REP_PASSWORD)
    expect(page).to_have_url(f"{e2e_base_url}/")
    # Logged in, the tenant's language outranks the cookie the anonymous switch set.
    expect(html).to_have_attribute("lang", tenant.language)

    # Switching in the user menu (beside the name, at every width) saves the rep's own language, which outranks the
    # tenant's.
    page.click("[data-testid=user-menu]")
    # Wait for the POST and its redirect: when the tenant already speaks this language, nothing on the page changes.
    with page.expect_navigation():
        page.click(f"[data-testid=user-menu] + .dropdown-menu [data-testid=lang-{language}]")
    expect(page).to_have_url(f"{e2e_base_url}/")
    expect(html).to_have_attribute("lang", language)
    rep.refresh_from_db()
    assert rep.language == language

    heading = page.locator("main h1")
    expect(heading).to_have_text(translated(language, "Hello, %(name)s", name=REP_NAME))
    if language == "en":
        expect(heading).to_have_text(f"Hello, {REP_NAME}")
    else:
        expect(heading).to_contain_text(REP_NAME)

    open_main_nav(page, viewport)
    nav = page.locator("[data-testid=main-nav]")
    expect(nav.locator("a[href='/']")).to_have_text(translated(language, "Home"))
    expect(nav.locator("a[href='/settings/']")).to_have_count(0)

    log_out(page, e2e_base_url)
    expect(page.locator("[data-testid=login-submit]")).to_be_visible()
    # The language cookie outlives the session: the login page keeps speaking the chosen language.
    expect(html).to_have_attribute("lang", language)
    expect(page.locator("[data-testid=user-menu]")).to_have_count(0)


def test_admin_sees_settings_in_navigation(e2e_page: Page, e2e_base_url: str):
    make_tenant_with_rep()
    page = e2e_page

    page.goto("/login/")
    page.click("[data-testid=lang-en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(f"{e2e_base_url}/")
    expect(page.locator("main h1")).to_contain_text("李管理")

    open_main_nav(page, "desktop")
    settings_link = page.locator("[data-testid=main-nav] a[href='/settings/']")
    expect(settings_link).to_be_visible()
    expect(settings_link).to_have_text(translated("zh-hans", "Settings"))
    settings_link.click()
    expect(page).to_have_url(f"{e2e_base_url}/settings/")
    expect(page.locator("main h1")).to_have_text(translated("zh-hans", "Settings"))

    log_out(page, e2e_base_url)
    expect(page.locator("[data-testid=login-submit]")).to_be_visible()


def test_wrong_password_shows_error_and_stays_on_login(e2e_page: Page, e2e_base_url: str):
    make_tenant_with_rep()
    page = e2e_page

    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    log_in(page, REP_EMAIL, "not-the-password")

    expect(page).to_have_url(f"{e2e_base_url}/login/")
    errors = page.locator("[data-testid=form-errors]")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("correct")
    expect(errors).to_contain_text("password")
    # The email stays filled in; the password does not come back from the server.
    expect(page.locator("input[name=username]")).to_have_value(REP_EMAIL)
    expect(page.locator("input[name=password]")).to_have_value("")
    expect(page.locator("[data-testid=user-menu]")).to_have_count(0)

    # Not logged in: the home page sends the browser back to the login page.
    page.goto("/")
    expect(page).to_have_url(f"{e2e_base_url}/login/?next=/")
