"""The contribution registry (DESIGN.md §1).

Apps to the right of `crm` (customers, sales, service, marketing, reports) register what they show in shared
places — navigation entries, settings pages, home-page widgets, customer-page panels — and the kinds of record
they import (`crm.imports.kind.ImportKind` subclasses) from their `AppConfig.ready()`. `crm` and `customers` render whatever is registered, so nothing imports to the right and an
app that registered nothing shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Predicate = Callable[[Any], bool]


def roles_any(*roles: str) -> Predicate:
    """A predicate true for an active tenant user holding any of `roles`."""

    def check(user: Any) -> bool:
        return bool(user.is_authenticated and user.tenant_id and user.has_any_role(*roles))

    return check


def any_tenant_user(user: Any) -> bool:
    return bool(user.is_authenticated and user.tenant_id)


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: Any
    url_name: str
    order: int = 100
    visible: Predicate = any_tenant_user
    # URL-name prefixes that mark this entry as active (defaults to the url_name's namespace).
    active_prefix: str = ""


@dataclass(frozen=True)
class SettingsPage:
    key: str
    label: Any
    description: Any
    url_name: str
    order: int = 100
    visible: Predicate = roles_any("admin")


@dataclass(frozen=True)
class HomeWidget:
    key: str
    template: str
    order: int = 100
    visible: Predicate = any_tenant_user
    # context(request) -> dict; must run a bounded number of queries.
    context: Callable[[Any], dict] = field(default=lambda request: {})
    width: str = "col-lg-6"


@dataclass(frozen=True)
class CustomerPanel:
    key: str
    label: Any
    template: str
    order: int = 100
    visible: Predicate = any_tenant_user
    # context(request, customer) -> dict
    context: Callable[[Any, Any], dict] = field(default=lambda request, customer: {})


class Registry:
    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {
            "nav": {},
            "settings": {},
            "home": {},
            "customer_panel": {},
            "import_kind": {},
        }

    def _add(self, kind: str, item: Any) -> Any:
        # Keyed, so ready() running twice (tests, autoreload) never duplicates an entry.
        self._items[kind][item.key] = item
        return item

    def add_nav(self, item: NavEntry) -> NavEntry:
        return self._add("nav", item)

    def add_settings_page(self, item: SettingsPage) -> SettingsPage:
        return self._add("settings", item)

    def add_home_widget(self, item: HomeWidget) -> HomeWidget:
        return self._add("home", item)

    def add_customer_panel(self, item: CustomerPanel) -> CustomerPanel:
        return self._add("customer_panel", item)

    def add_import_kind(self, kind: Any) -> Any:
        """An import kind (a crm.imports.kind.ImportKind subclass), found by its `key` by the import pages and tasks."""
        return self._add("import_kind", kind)

    def import_kind(self, key: str) -> Any:
        """The registered import kind of that key; LookupError when no app registered it."""
        try:
            return self._items["import_kind"][key]
        except KeyError:
            raise LookupError(f"No import kind {key!r} is registered.") from None

    def _for(self, kind: str, user: Any) -> list[Any]:
        items: Iterable[Any] = self._items[kind].values()
        return sorted((i for i in items if i.visible(user)), key=lambda i: (i.order, i.key))

    def nav_for(self, user: Any) -> list[NavEntry]:
        return self._for("nav", user)

    def settings_pages_for(self, user: Any) -> list[SettingsPage]:
        return self._for("settings", user)

    def home_widgets_for(self, user: Any) -> list[HomeWidget]:
        return self._for("home", user)

    def customer_panels_for(self, user: Any) -> list[CustomerPanel]:
        return self._for("customer_panel", user)

    def import_kinds_for(self, user: Any, *, menu: str | None = None) -> list[Any]:
        """The import kinds `user` may use, in order; only those offered in `menu` when given."""
        return [k for k in self._for("import_kind", user) if menu is None or k.menu == menu]


registry = Registry()
