"""Browser tests: Playwright's sync API drives Debian's chromium against pytest-django's live server.

One chromium for the whole run (`e2e_browser`); every test opens its own context(s) through `e2e_new_page`, at
desktop or phone width and in a browser locale of its choice. A context reaches nothing but the live server:
any other request is aborted and fails the test, as does an uncaught JavaScript error or a missing static file.
"""

import os

# Playwright's sync API runs an event loop in the test's thread; Django's ORM refuses to run there without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from collections.abc import Callable, Iterator  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import pytest  # noqa: E402
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright  # noqa: E402

E2E_CHROMIUM = "/usr/bin/chromium"
E2E_CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

E2E_VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}, "is_mobile": False, "has_touch": False},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
}

# How long Playwright waits for a state before the test fails. Every wait is for a state (an element, a URL, a
# text), never for time, so this only bounds a broken test; it is generous because a machine whose cores are all
# busy (other test runs, a build) serves a page many times slower than an idle one.
E2E_TIMEOUT_MS = 30_000
# The same bound for every `expect(...)` assertion (Playwright's own default is 5 s).
expect.set_options(timeout=E2E_TIMEOUT_MS)


@pytest.fixture(scope="session")
def e2e_browser() -> Iterator[Browser]:
    """One headless chromium (Debian's, never a downloaded one) for the whole test run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=E2E_CHROMIUM, args=E2E_CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def e2e_base_url(live_server) -> str:
    return live_server.url.rstrip("/")


@pytest.fixture
def e2e_new_page(e2e_browser: Browser, e2e_base_url: str) -> Iterator[Callable[..., Page]]:
    """Factory: `e2e_new_page(viewport="desktop" | "phone", locale="en-US")` opens a page in a fresh context.

    Relative URLs (`page.goto("/login/")`) go to the live server. At teardown the test fails if the page asked
    for any other address, threw an uncaught JavaScript error, or got an error status for a static file.
    """
    server = urlsplit(e2e_base_url)
    contexts = []
    problems: list[str] = []

    def guard(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https") and url.netloc == server.netloc:
            route.continue_()
        else:
            problems.append(f"request outside the live server: {route.request.url}")
            route.abort()

    def make(viewport: str = "desktop", locale: str = "en-US") -> Page:
        context = e2e_browser.new_context(
            base_url=e2e_base_url,
            locale=locale,
            timezone_id="Asia/Shanghai",
            service_workers="block",
            **E2E_VIEWPORTS[viewport],
        )
        contexts.append(context)
        context.set_default_timeout(E2E_TIMEOUT_MS)
        context.set_default_navigation_timeout(E2E_TIMEOUT_MS)
        context.route("**/*", guard)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"JavaScript error on {page.url}: {exc}"))
        page.on(
            "response",
            lambda response: (
                problems.append(f"static file {response.url} answered {response.status}")
                if urlsplit(response.url).path.startswith("/static/") and response.status >= 400
                else None
            ),
        )
        return page

    yield make

    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def e2e_page(e2e_new_page: Callable[..., Page]) -> Page:
    """A desktop page with an English-speaking browser: what most browser tests need."""
    return e2e_new_page(viewport="desktop", locale="en-US")
