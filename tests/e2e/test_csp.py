"""Every page works under the Content-Security-Policy: each page of every app (lists, details, forms, the board, the
calendar, the settings pages, the public pages) is opened in chromium as the role that uses it, and any
`securitypolicyviolation` event or console error fails the test. Chart.js and SortableJS run under the policy."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, build_world
from tests.security.test_url_sweep import all_patterns, load_samples, plant_data

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

# Records every violation of the policy in the page, before any of its own scripts run.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""
# Not pages to look at: leaving, switching language (POST), the health check.
SKIPPED = {"logout", "set_language", "healthz", "healthz_ready", "healthz_live"}


def is_page(user, url: str) -> bool:
    """Whether `user` (None: anonymous) gets an HTML page at `url` (not a refusal, redirect, POST-only action or
    download)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    return response.status_code == 200 and response.get("Content-Type", "").startswith("text/html")


def pages_by_user(world) -> dict[str, list[str]]:
    samples, viewers, public, _redirects = load_samples()
    pages: dict[str, list[str]] = {"anonymous": [], "admin": [], "rep1": [], "manager": [], "agent": []}
    for name, params in all_patterns():
        if name in SKIPPED:
            continue
        url = reverse(name, kwargs=samples[name](world) if params else {})
        if name in public:
            pages["anonymous"].append(url)
        elif params:
            pages[viewers.get(name, "admin")].append(url)
        else:
            # A page without arguments: as an admin (settings, everything) and as a rep (their own lists).
            pages["admin"].append(url)
            pages["rep1"].append(url)
    pages["manager"] += [reverse("customers:list"), reverse("pool:health"), reverse("pool:extensions")]
    pages["manager"] += [
        reverse("reports:funnel"),
        reverse("reports:forecast"),
        reverse("reports:team"),
        reverse("reports:activity"),
        reverse("reports:targets"),
        reverse("reports:subscriptions"),
        reverse("home"),
    ]
    pages["agent"] += [reverse("home"), reverse("service:ticket_list"), reverse("service:ticket_create")]
    return {
        who: [url for url in urls if is_page(None if who == "anonymous" else getattr(world, who), url)]
        for who, urls in pages.items()
    }


def log_in(page, email):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_every_page_runs_under_the_policy(e2e_new_page, redis_test_db, django_capture_on_commit_callbacks):
    world = build_world("MARKA")
    with django_capture_on_commit_callbacks(execute=False):
        plant_data(world)
    pages = pages_by_user(world)
    problems: list[str] = []
    opened = 0
    for who, urls in pages.items():
        page = e2e_new_page(viewport="desktop", locale="en-US")
        page.add_init_script(WATCH)
        page.on(
            "console",
            lambda message, who=who, page=page: (
                problems.append(f"{who} {page.url}: console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        if who != "anonymous":
            log_in(page, getattr(world, who).email)
        for url in urls:
            response = page.goto(url)
            assert "unsafe-inline" not in response.headers["content-security-policy"]
            page.wait_for_load_state("load")
            violations = page.evaluate("window.__csp")
            problems += [f"{who} {url}: {v}" for v in violations]
            opened += 1
    assert not problems, "\n".join(problems[:40])
    assert opened >= 60, f"only {opened} pages opened"


def test_sortablejs_and_chartjs_run_under_the_policy(e2e_new_page, redis_test_db):
    world = build_world("CHART")
    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.add_init_script(WATCH)
    log_in(page, world.manager.email)
    page.goto(reverse("sales:opportunity_board"))
    # The board's columns become SortableJS lists once board.js has run: wait for that, not for the load event.
    page.wait_for_function(
        "typeof Sortable === 'function' && document.querySelectorAll('.board-cards[data-sortable]').length > 0"
    )
    page.add_script_tag(url="/static/vendor/chartjs/chart.umd.min.js")
    drawn = page.evaluate(
        """() => {
          const canvas = document.createElement("canvas");
          document.querySelector("main").appendChild(canvas);
          const chart = new Chart(canvas, {type: "bar", data: {labels: ["a", "b"], datasets: [{data: [3, 5]}]},
                                           options: {animation: false}});
          chart.update();
          const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          return pixels.some((value) => value !== 0);
        }"""
    )
    assert drawn
    assert page.evaluate("window.__csp") == []
    # The watcher itself works: an inline style is blocked and reported.
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("window.__csp.length > 0")
    assert "style-src" in page.evaluate("window.__csp[0]")
