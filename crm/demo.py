"""Demo data of the core app: the Demo and Acme tenants, their users and teams (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faker import Faker

from crm.services.tenant import tenant_create

from .models import Role, Team, Tenant, User

DEMO_PASSWORD = "crm-demo-pass"


@dataclass
class DemoTenant:
    tenant: Tenant
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)


def _team(tenant: Tenant, key: str, name: str, parent: Team | None, manager: User | None) -> Team:
    team = Team.objects.filter(tenant=tenant, parent=parent, name=name).first()
    if team is None:
        team = Team.objects.create(tenant=tenant, name=name, parent=parent, manager=manager)
        team.path = f"{parent.path if parent else '/'}{team.pk}/"
        team.save(update_fields=["path"])
    return team


def _user(tenant: Tenant, email: str, name: str, roles: list[str], team: Team | None) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, tenant=tenant, full_name=name, roles=roles, team=team
        )
    return user


def _tenant(name: str, slug: str, admin_email: str, admin_name: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_create(
            name=name, slug=slug, admin_email=admin_email, admin_password=DEMO_PASSWORD, admin_name=admin_name
        )
    return tenant


def seed() -> list[DemoTenant]:
    fake = Faker("zh_CN")
    Faker.seed(20261128)

    demo = DemoTenant(_tenant("演示科技有限公司", "demo", "admin@demo.local", fake.name()))
    t = demo.tenant
    sales = Team.objects.filter(tenant=t, parent=None).order_by("pk").first()
    demo.users["admin"] = User.objects.get(email="admin@demo.local")
    demo.users["manager"] = _user(t, "manager@demo.local", fake.name(), [Role.MANAGER], sales)
    if sales.manager_id is None:
        sales.manager = demo.users["manager"]
        sales.save(update_fields=["manager"])
    demo.teams["sales"] = sales
    demo.teams["east"] = _team(t, "east", "华东组", sales, demo.users["manager"])
    demo.teams["north"] = _team(t, "north", "华北组", sales, demo.users["manager"])
    demo.teams["service"] = _team(t, "service", "客服部", None, None)
    for i, team_key in ((1, "east"), (2, "east"), (3, "north"), (4, "north")):
        demo.users[f"rep{i}"] = _user(t, f"rep{i}@demo.local", fake.name(), [Role.REP], demo.teams[team_key])
    demo.users["agent"] = _user(t, "agent@demo.local", fake.name(), [Role.AGENT], demo.teams["service"])
    # A fixed name, not Faker's: the names drawn above stay what they were.
    demo.users["service_manager"] = _user(t, "servicemanager@demo.local", "陈静", [Role.MANAGER], demo.teams["service"])
    if demo.teams["service"].manager_id is None:
        demo.teams["service"].manager = demo.users["service_manager"]
        demo.teams["service"].save(update_fields=["manager"])

    acme = DemoTenant(_tenant("Acme 贸易有限公司", "acme", "admin@acme.local", fake.name()))
    a = acme.tenant
    acme_sales = Team.objects.filter(tenant=a, parent=None).order_by("pk").first()
    acme.teams["sales"] = acme_sales
    acme.users["admin"] = User.objects.get(email="admin@acme.local")
    acme.users["rep1"] = _user(a, "rep1@acme.local", fake.name(), [Role.REP], acme_sales)
    return [demo, acme]


LOGINS = [
    ("admin@demo.local", "admin"),
    ("manager@demo.local", "manager of 华东组 + 华北组"),
    ("rep1@demo.local … rep4@demo.local", "reps"),
    ("agent@demo.local, agent2@demo.local", "service agents"),
    ("servicemanager@demo.local", "manager of 客服部 (the service desk)"),
    ("admin@acme.local", "admin of the second tenant"),
    ("rep1@acme.local", "rep of the second tenant"),
]
