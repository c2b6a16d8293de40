"""Reaching a page through the main navigation, whose entries sit in dropdown groups (Sales, Service, Marketing)."""

from playwright.sync_api import Page, expect


def open_from_menu(page: Page, group: str, name: str) -> None:
    """Open the `group` dropdown of the top bar (desktop width) and follow its entry `name`.

    The page may have just been reached by a click whose `expect` saw its content before its scripts ran: the
    dropdown only opens once Bootstrap has loaded, so wait for the page's load and for the menu to say it is open."""
    page.wait_for_load_state("load")
    menu = page.locator(f"[data-testid=nav-group-{group}]")
    toggle = menu.locator(".dropdown-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    menu.get_by_role("link", name=name).click()
