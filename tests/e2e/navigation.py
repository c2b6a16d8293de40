"""Reaching a page through the main navigation, whose entries sit in dropdown groups (Sales, Service, Marketing)."""

from playwright.sync_api import Page


def open_from_menu(page: Page, group: str, name: str) -> None:
    """Open the `group` dropdown of the top bar (desktop width) and follow its entry `name`."""
    menu = page.locator(f"[data-testid=nav-group-{group}]")
    menu.locator(".dropdown-toggle").click()
    menu.get_by_role("link", name=name).click()
