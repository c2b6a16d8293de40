"""The contribution registry (DESIGN.md §1).

Apps to the right of `crm` (customers, sales, service, marketing, reports) register what they show in shared
places — navigation entries, settings pages, home-page widgets, customer-page panels, approval policies and
notification buttons — and the kinds of record they import (`crm.imports.kind.ImportKind` subclasses) from their
`AppConfig.ready()`. `crm` and `customers` render whatever is registered, so nothing imports to the right and an
app that registered nothing shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
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
    # URL-name prefixes that mark this entry as active, comma-separated (defaults to the url_name's namespace).
    active_prefix: str = ""
    # The NavGroup (its key) whose dropdown lists this entry; empty: the entry stands on its own in the bar.
    group: str = ""


@dataclass(frozen=True)
class NavGroup:
    """A dropdown of the main navigation ("Sales": leads, opportunities, quotes…), placed by its `order` among the
    entries; it shows only the entries the user may see, and none at all when there is none."""

    key: str
    label: Any
    order: int = 100


@dataclass(frozen=True)
class NavItem:
    """One place in the main navigation bar: an entry of its own, or a group with its visible entries."""

    key: str
    label: Any
    entry: NavEntry | None = None
    entries: tuple[NavEntry, ...] = ()


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


@dataclass(frozen=True)
class ApprovalStepRule:
    """One step of an approval: who decides ("manager": a manager of the requester's team or of a team above it;
    "admin": an administrator), and the amount above which the step applies (None: always)."""

    approver: str
    label: Any
    above: Decimal | None = None


@dataclass(frozen=True)
class ApprovalPolicy:
    """An app's kind of approval (crm.approvals runs it; crm never imports the app).

    - `model`: the approved object's "app_label.modelname";
    - `steps(tenant, obj)`: the tenant's step rules for this kind, in order (thresholds from the app's settings);
    - `on_decided(request, obj)`: called inside the deciding transaction once the request is approved, rejected or
      withdrawn (`request.status`); raising DomainError refuses the decision and nothing is saved;
    - `url(obj)`: where the object is shown (linked from the request)."""

    key: str
    label: Any
    model: str
    steps: Callable[[Any, Any], list[ApprovalStepRule]]
    on_decided: Callable[[Any, Any], None]
    url: Callable[[Any], str] = field(default=lambda obj: "")


@dataclass(frozen=True)
class NotificationActions:
    """Buttons shown on the notifications whose key starts with `key_prefix` (e.g. approve/reject).
    `context(request, notifications)` returns {notification id: context} for the page's notifications of that
    prefix, in a bounded number of queries; `template` renders one notification's buttons from its context."""

    key: str
    key_prefix: str
    template: str
    context: Callable[[Any, list], dict]
    order: int = 100
    visible: Predicate = any_tenant_user


@dataclass(frozen=True)
class OrderExtension:
    """Fields a higher app adds to the order form, and what it does with them when the order is recorded (e.g. a
    coupon code redeemed by marketing, which sales never imports).

    - `fields()`: {name: form field} added to the order form (names unique across extensions);
    - `apply(acting_user=, order=, data=)`: called inside the order's transaction once the order row exists, with the
      cleaned values of its fields; raising DomainError (its `field` one of the extension's fields) refuses the whole
      order and nothing is saved;
    - `release(acting_user=, order=, reason=)`: called inside the transaction that voids the order (`reason`
      "void") or rejects its discount (`reason` "rejected"): gives back what `apply` took (the coupon is usable
      again)."""

    key: str
    fields: Callable[[], dict[str, Any]]
    apply: Callable[..., None]
    order: int = 100
    release: Callable[..., None] | None = None


@dataclass(frozen=True)
class CustomerFilterContribution:
    """Filters a higher app adds to the customer list's FilterSet (e.g. marketing's RFM cell and scores), so the
    list, its saved views and the segments built on it filter by them while customers never imports that app.

    - `filters(tenant)`: {query parameter: django_filters.Filter} (names unique across contributions); each filter
      narrows the tenant's customer queryset it is given (its `method` a callable taking (queryset, name, value),
      or its own `filter`); the FilterSet becomes its `parent`, so filters of one contribution may apply together."""

    key: str
    filters: Callable[[Any], dict[str, Any]]
    order: int = 100


@dataclass(frozen=True)
class CustomerAudience:
    """A named set of customers a higher app offers as an audience to lower apps (marketing's segments, which its
    care campaigns and blasts already target, as the audience of the service desk's NPS rounds), so the lower app
    never imports the higher one.

    - `choices(user)`: [(id, label)] of the sets the user may pick, in one query;
    - `customers(user, id)`: the tenant's customers the set picks, within those the user sees (a QuerySet), or None
      when the id is not one of the user's choices (missing, another tenant's, not shared with them)."""

    key: str
    label: Any
    choices: Callable[[Any], list[tuple[Any, str]]]
    customers: Callable[[Any, Any], Any]
    order: int = 100


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class SearchSource:
    """One group of the top bar's search (customers, contacts, leads, opportunities): `search(user, text, limit)`
    returns at most `limit` SearchHits the user may see, in a bounded number of queries."""

    key: str
    label: Any
    search: Callable[[Any, str, int], list[SearchHit]]
    order: int = 100
    visible: Predicate = any_tenant_user


@dataclass(frozen=True)
class AuditKind:
    """A kind of object the audit log names: `key` is the first part of its actions ("customer" for
    "customer.transfer"), `label` names the kind in the log's filter, `model` ("customers.customer") and
    `url_name` (reversed with the object's id) link an event's object and the objects a bulk event lists."""

    key: str
    label: Any
    model: str = ""
    url_name: str = ""
    order: int = 100


@dataclass(frozen=True)
class AuditAction:
    """How the audit log says one action in the reader's language.

    `sentence` is a lazy translated string formatted with: `actor` (the actor's full name), `object` (the event's
    object, linked), `count` (how many objects a bulk action touched — the length of `details[items]` — or the
    number in `details[count]`), `user` (the user named by `details[user]`, e.g. the new owner) and `text` (the
    plain value of `details[text]`, e.g. a reason). Use `ngettext_lazy(..., "count")` for sentences with a count.
    `items_kind` is the AuditKind key of the ids listed in `details[items]` (shown when the event is expanded);
    `children` marks a batch (an import) whose per-object events name it in `details["import"]`: expanding it lists
    them."""

    key: str
    sentence: Any
    label: Any = ""
    items: str = ""
    items_kind: str = ""
    count: str = ""
    user: str = ""
    text: str = ""
    children: bool = False


@dataclass(frozen=True)
class ApiResource:
    """A REST API resource of an app (its viewset in `<app>/api.py`), routed under /api/v1/<prefix>/."""

    key: str
    prefix: str
    viewset: Any
    basename: str


@dataclass(frozen=True)
class PersonalDataHolder:
    """What a higher app keeps about a person, exported and erased on their request (个人信息保护法) by customers,
    which never imports it.

    - `export(acting_user=, contact=, customer=)`: {section: [records as plain dicts]} added to the person's data;
    - `erase(acting_user=, contact=, customer=, scrub=)`: runs inside the erasure's transaction, after the contact
      is blanked (its values are in `scrub`) with its customer locked; `scrub` is the erasure's
      crm.services.erasure.PersonalValues (`scrub.text(value)` replaces the person's name, phones, emails and WeChat
      id with "—"). Returns the (model label, pk) of the records about the person, whose audit rows are scrubbed
      too. Raising refuses the whole erasure."""

    key: str
    erase: Callable[..., list]
    export: Callable[..., dict[str, list[dict[str, Any]]]] | None = None
    order: int = 100


@dataclass(frozen=True)
class ReportFigure:
    """A figure a later app adds to the reports dashboards (e.g. the service desk's CSAT): `value(user, start_at,
    end_at)` computes it for the user over the dashboard's period (the tenant-local days as [start_at, end_at))
    and returns what `template` shows as `value`, or None to show nothing to that user."""

    key: str
    label: Any
    template: str
    value: Callable[[Any, Any, Any], Any]
    order: int = 100
    visible: Predicate = any_tenant_user


@dataclass(frozen=True)
class MarketingConsent:
    """Who may receive marketing messages, answered by the app that keeps people's consent (customers) for the
    messaging layer, which never imports it: `refusals(tenant_id, contact_ids)` returns {contact id: reason} for
    the contacts that may not be sent marketing (no consent, unsubscribed, erased, gone), in one query."""

    key: str
    refusals: Callable[[int, list[int]], dict[int, str]]


class Registry:
    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {
            "order_extension": {},
            "customer_filter": {},
            "customer_audience": {},
            "nav": {},
            "nav_group": {},
            "user_menu": {},
            "settings": {},
            "home": {},
            "customer_panel": {},
            "approval_policy": {},
            "notification_actions": {},
            "import_kind": {},
            "export_kind": {},
            "search": {},
            "audit_kind": {},
            "audit_action": {},
            "api_resource": {},
            "personal_data_holder": {},
            "report_figure": {},
            "marketing_consent": {},
        }

    def _add(self, kind: str, item: Any) -> Any:
        # Keyed, so ready() running twice (tests, autoreload) never duplicates an entry.
        self._items[kind][item.key] = item
        return item

    def add_nav(self, item: NavEntry) -> NavEntry:
        return self._add("nav", item)

    def add_nav_group(self, item: NavGroup) -> NavGroup:
        return self._add("nav_group", item)

    def add_user_menu_entry(self, item: NavEntry) -> NavEntry:
        """A page of the user's own in the user menu (top right), beside their preferences: e.g. their exports."""
        return self._add("user_menu", item)

    def add_settings_page(self, item: SettingsPage) -> SettingsPage:
        return self._add("settings", item)

    def add_home_widget(self, item: HomeWidget) -> HomeWidget:
        return self._add("home", item)

    def add_customer_panel(self, item: CustomerPanel) -> CustomerPanel:
        return self._add("customer_panel", item)

    def add_approval_policy(self, item: ApprovalPolicy) -> ApprovalPolicy:
        return self._add("approval_policy", item)

    def add_notification_actions(self, item: NotificationActions) -> NotificationActions:
        return self._add("notification_actions", item)

    def approval_policy(self, key: str) -> ApprovalPolicy:
        """The policy registered under `key`; LookupError if no app registered it."""
        try:
            return self._items["approval_policy"][key]
        except KeyError as exc:
            raise LookupError(f"No approval policy {key!r} is registered") from exc

    def approval_policies(self) -> list[ApprovalPolicy]:
        return sorted(self._items["approval_policy"].values(), key=lambda p: p.key)

    def add_order_extension(self, item: OrderExtension) -> OrderExtension:
        return self._add("order_extension", item)

    def order_extensions(self) -> list[OrderExtension]:
        return sorted(self._items["order_extension"].values(), key=lambda i: (i.order, i.key))

    def add_customer_filter(self, item: CustomerFilterContribution) -> CustomerFilterContribution:
        return self._add("customer_filter", item)

    def customer_filters(self) -> list[CustomerFilterContribution]:
        return sorted(self._items["customer_filter"].values(), key=lambda c: (c.order, c.key))

    def add_customer_audience(self, item: CustomerAudience) -> CustomerAudience:
        return self._add("customer_audience", item)

    def customer_audiences(self) -> list[CustomerAudience]:
        return sorted(self._items["customer_audience"].values(), key=lambda c: (c.order, c.key))

    def customer_audience(self, key: str) -> CustomerAudience | None:
        return self._items["customer_audience"].get(key)

    def add_import_kind(self, kind: Any) -> Any:
        """An import kind (a crm.imports.kind.ImportKind subclass), found by its `key` by the import pages and tasks."""
        return self._add("import_kind", kind)

    def import_kind(self, key: str) -> Any:
        """The registered import kind of that key; LookupError when no app registered it."""
        try:
            return self._items["import_kind"][key]
        except KeyError:
            raise LookupError(f"No import kind {key!r} is registered.") from None

    def add_export_kind(self, kind: Any) -> Any:
        """An export kind (a crm.exports.ExportKind subclass), found by its `key` by the export pages and job."""
        return self._add("export_kind", kind)

    def export_kind(self, key: str) -> Any:
        """The registered export kind of that key; LookupError when no app registered it."""
        try:
            return self._items["export_kind"][key]
        except KeyError:
            raise LookupError(f"No export kind {key!r} is registered.") from None

    def export_kinds(self) -> list[Any]:
        return sorted(self._items["export_kind"].values(), key=lambda k: (k.order, k.key))

    def add_search_source(self, item: SearchSource) -> SearchSource:
        return self._add("search", item)

    def search_sources_for(self, user: Any) -> list[SearchSource]:
        return self._for("search", user)

    def add_audit_kind(self, item: AuditKind) -> AuditKind:
        return self._add("audit_kind", item)

    def add_audit_action(self, item: AuditAction) -> AuditAction:
        return self._add("audit_action", item)

    def audit_kinds(self) -> list[AuditKind]:
        return sorted(self._items["audit_kind"].values(), key=lambda i: (i.order, i.key))

    def audit_kind(self, key: str) -> AuditKind | None:
        return self._items["audit_kind"].get(key)

    def audit_actions(self) -> list[AuditAction]:
        return sorted(self._items["audit_action"].values(), key=lambda i: i.key)

    def audit_action(self, key: str) -> AuditAction | None:
        return self._items["audit_action"].get(key)

    def add_api_resource(self, item: ApiResource) -> ApiResource:
        return self._add("api_resource", item)

    def api_resources(self) -> list[ApiResource]:
        return sorted(self._items["api_resource"].values(), key=lambda r: r.prefix)

    def add_personal_data_holder(self, item: PersonalDataHolder) -> PersonalDataHolder:
        return self._add("personal_data_holder", item)

    def personal_data_holders(self) -> list[PersonalDataHolder]:
        return sorted(self._items["personal_data_holder"].values(), key=lambda i: (i.order, i.key))

    def add_report_figure(self, item: ReportFigure) -> ReportFigure:
        return self._add("report_figure", item)

    def report_figures_for(self, user: Any) -> list[ReportFigure]:
        return self._for("report_figure", user)

    def add_marketing_consent(self, item: MarketingConsent) -> MarketingConsent:
        return self._add("marketing_consent", item)

    def marketing_consents(self) -> list[MarketingConsent]:
        return sorted(self._items["marketing_consent"].values(), key=lambda i: i.key)

    def _for(self, kind: str, user: Any) -> list[Any]:
        items: Iterable[Any] = self._items[kind].values()
        return sorted((i for i in items if i.visible(user)), key=lambda i: (i.order, i.key))

    def nav_for(self, user: Any) -> list[NavEntry]:
        return self._for("nav", user)

    def nav_items_for(self, user: Any) -> list[NavItem]:
        """The navigation bar: entries without a (registered) group stand alone, the others gather in their group's
        dropdown, in entry order; a group is placed by its own order and left out when the user sees none of it."""
        groups = self._items["nav_group"]
        places: list[tuple[int, str, NavItem]] = []
        grouped: dict[str, list[NavEntry]] = {}
        for entry in self.nav_for(user):
            if entry.group in groups:
                grouped.setdefault(entry.group, []).append(entry)
            else:
                places.append((entry.order, entry.key, NavItem(key=entry.key, label=entry.label, entry=entry)))
        for key, entries in grouped.items():
            group = groups[key]
            places.append((group.order, group.key, NavItem(key=group.key, label=group.label, entries=tuple(entries))))
        return [item for _order, _key, item in sorted(places, key=lambda p: (p[0], p[1]))]

    def user_menu_for(self, user: Any) -> list[NavEntry]:
        return self._for("user_menu", user)

    def settings_pages_for(self, user: Any) -> list[SettingsPage]:
        return self._for("settings", user)

    def home_widgets_for(self, user: Any) -> list[HomeWidget]:
        return self._for("home", user)

    def customer_panels_for(self, user: Any) -> list[CustomerPanel]:
        return self._for("customer_panel", user)

    def notification_actions_for(self, user: Any) -> list[NotificationActions]:
        return self._for("notification_actions", user)

    def import_kinds_for(self, user: Any, *, menu: str | None = None) -> list[Any]:
        """The import kinds `user` may use, in order; only those offered in `menu` when given."""
        return [k for k in self._for("import_kind", user) if menu is None or k.menu == menu]


registry = Registry()
