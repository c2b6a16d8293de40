"""Demo customers: ~300 for the Demo tenant over its reps and its pool, ~40 for Acme (bulk, idempotent)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone
from faker import Faker

from crm.access import manager_of
from crm.models import Role, Team, User
from crm.workcalendar.selectors import local_today
from customers.forms.customer import INDUSTRIES, SOURCES
from customers.services.extension import extension_request
from customers.services.tenant import default_pool, tenant_defaults
from customers.services.transfer import customer_transfer

from .models import (
    Contact,
    Customer,
    CustomerIdentifier,
    CustomerLevel,
    CustomerTag,
    OwnershipEvent,
    PersonalDataReveal,
    PoolLevelRule,
    PoolTeam,
    Tag,
    ViewQuota,
)
from .normalize import normalize_company_name, normalize_phone, pinyin_forms

OLD_REGION_TEXTS = ["杭州", "深圳市", "广东深圳", "上海浦东"]
REGIONS = ["北京市", "上海市", "广东省", "浙江省", "江苏省", "四川省", "湖北省", "山东省", "福建省", "陕西省"]
TAGS = ["老客户", "高意向", "价格敏感", "需要演示", "竞品在用"]
COMPANY_KINDS = ["科技", "贸易", "实业", "物流", "教育咨询", "医疗器械", "文化传媒", "餐饮管理", "建材", "电子"]


def seed_pool_rules(tenant) -> None:
    """Demo pool rules: 30 days without follow-up, level A 60 days, 45 days after the last contract ended, warnings 3
    days ahead, sensible limits."""
    pool = default_pool(tenant)
    if pool.no_followup_days is None:
        pool.no_followup_days = 30
        pool.warn_days_before = 3
        pool.max_claims_per_day = 10
        pool.reclaim_cooldown_days = 7
        pool.daily_view_limit = 50
        pool.extension_days = 7
        pool.save()
        level_a = CustomerLevel.objects.filter(tenant=tenant, code="A").first()
        if level_a:
            PoolLevelRule.objects.get_or_create(
                tenant=tenant, pool=pool, level=level_a, defaults={"no_followup_days": 60}
            )
    if pool.no_contract_days is None:
        # After the last contract ends: 45 days to sign a new one before the customer returns to the pool.
        pool.no_contract_days = 45
        pool.save(update_fields=["no_contract_days", "updated_at"])
    PoolTeam.objects.bulk_create(
        [PoolTeam(tenant=tenant, pool=pool, team=t) for t in Team.objects.for_tenant(tenant).filter(parent=None)],
        ignore_conflicts=True,
    )
    # "Reps of 华东组 may open 20 pool customers a day."
    east = Team.objects.for_tenant(tenant).filter(name="华东组").first()
    if east is not None:
        ViewQuota.objects.get_or_create(tenant=tenant, team=east, defaults={"daily_limit": 20})
    if tenant.max_customers_per_rep is None:
        tenant.max_customers_per_rep = 200
        tenant.save(update_fields=["max_customers_per_rep"])


def seed_due_soon(tenant, reps, now) -> None:
    """Per rep: two customers already due to fall back, one falling back tomorrow, two within the warning window."""
    days_without = [35, 33, 29, 28, 27]
    for rep in reps[:4]:
        mine = list(
            Customer.objects.filter(tenant=tenant, owner=rep, is_key_account=False)
            .exclude(level__code="A")
            # Held for 90 days: not one of those claimed from the pool last month.
            .exclude(ownership_events__reason=OwnershipEvent.Reason.CLAIM)
            .order_by("pk")[: len(days_without)]
        )
        for customer, days in zip(mine, days_without, strict=False):
            Customer.objects.filter(pk=customer.pk).update(
                created_at=min(customer.created_at, now - timedelta(days=90)),
                owned_since=now - timedelta(days=90),
                last_followed_up_at=now - timedelta(days=days, hours=2),
            )


def seed_extension_requests(tenant, reps, now) -> None:
    """The first two reps ask their manager for more time on a customer about to fall back: the manager finds the
    requests waiting under Approvals."""
    for rep in reps[:2]:
        customer = (
            Customer.objects.filter(tenant=tenant, owner=rep, last_followed_up_at__lt=now - timedelta(days=27))
            .order_by("last_followed_up_at")
            .first()
        )
        if customer is not None and not customer.extension_requests.exists():
            extension_request(acting_user=rep, customer=customer, reason="客户下周签合同，需要多几天跟进。")


def seed_reveals(tenant, reps, now) -> None:
    """The managers looked up a few of their reps' customers' phones and emails over the last days: the admin finds
    them under Settings → Privacy log."""
    # The reps' own managers (not, say, the service desk's manager, who has no reps).
    managers = sorted({m for m in (manager_of(rep) for rep in reps) if m is not None}, key=lambda m: m.email)
    rng = random.Random(f"{tenant.slug}-reveals")
    contacts = list(
        Contact.objects.filter(tenant=tenant, customer__owner__in=reps).select_related("customer").order_by("pk")[:40]
    )
    reveals = []
    for manager in managers:
        for contact in rng.sample(contacts, k=min(6, len(contacts))):
            at = now - timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 8))
            reveals.append(
                PersonalDataReveal(
                    tenant=tenant,
                    created_by=manager,
                    created_at=at,
                    user=manager,
                    customer=contact.customer,
                    contact=contact,
                    field=rng.choice(["mobile", "email"]),
                    day=local_today(tenant, at),
                )
            )
    PersonalDataReveal.objects.bulk_create(reveals)


def seed_tenant(demo) -> None:
    tenant = demo.tenant
    tenant_defaults(tenant=tenant)
    seed_pool_rules(tenant)
    if Customer.objects.filter(tenant=tenant).exists():
        return
    size = 300 if tenant.slug == "demo" else 40
    fake = Faker("zh_CN")
    Faker.seed(hash(tenant.slug) % 10_000)
    rng = random.Random(tenant.slug)
    reps = list(User.objects.for_tenant(tenant).with_role(Role.REP).order_by("email"))
    pool = default_pool(tenant)
    levels = list(CustomerLevel.objects.for_tenant(tenant).order_by("order"))
    tags = [Tag.objects.get_or_create(tenant=tenant, name=name)[0] for name in TAGS]
    now = timezone.now()
    used: set[tuple[str, str]] = set()
    customers, contacts_by_index, idents_by_index = [], {}, {}
    # The pool's last month (pool health, "why it came back"): some owned customers were claimed from the pool and
    # some waiting ones fell back to it from a rep. A generator of its own, so the rest of the demo stays the same.
    history = random.Random(f"{tenant.slug}-pool-history")
    stories: dict[int, tuple[str, User | None, datetime]] = {}
    while len(customers) < size:
        name = f"{fake.city_name()}{fake.last_name()}{fake.word()}{rng.choice(COMPANY_KINDS)}有限公司"
        company_key = ("company", normalize_company_name(name))
        mobile = normalize_phone(fake.phone_number())
        email = fake.unique.email()
        keys = [company_key, ("phone", mobile), ("email", email)]
        if not mobile or any(k in used for k in keys):
            continue
        used.update(keys)
        # Two thirds held by reps, the rest waiting in the pool.
        owner = rng.choice(reps) if reps and rng.random() < 0.67 else None
        created = now - timedelta(days=rng.randint(1, 400))
        # Owned customers were followed up within the pool's 30 days; seed_due_soon makes a few stale on purpose.
        followed = max(now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23)), created) if owner else None
        pinyin, initials = pinyin_forms(name)
        customers.append(
            Customer(
                tenant=tenant,
                name=name,
                name_pinyin=pinyin,
                name_initials=initials,
                status=rng.choice(Customer.Status.values),
                level=rng.choice(levels) if levels else None,
                industry=rng.choice(INDUSTRIES),
                # A few carry the free text of an old spreadsheet, for Settings → Value lists to map.
                region=rng.choice(REGIONS) if rng.random() < 0.95 else rng.choice(OLD_REGION_TEXTS),
                source=rng.choice(SOURCES),
                is_key_account=rng.random() < 0.1,
                address=fake.address(),
                owner=owner,
                owned_since=created if owner else None,
                pooled_at=None if owner else created,
                pool=pool,
                created_at=created,
                last_followed_up_at=followed,
            )
        )
        index = len(customers) - 1
        moved = now - timedelta(days=history.randint(1, 28), hours=history.randint(0, 23))
        if reps and created < now - timedelta(days=35) and history.random() < 0.2:
            customer = customers[index]
            if owner is not None:
                stories[index] = ("claim", owner, moved)
                customer.owned_since = moved
            else:
                stories[index] = ("fallback", history.choice(reps), moved)
                customer.pooled_at = moved
        contacts_by_index[index] = [
            Contact(
                tenant=tenant,
                name=fake.name(),
                title=fake.job()[:100],
                mobile=mobile,
                email=email,
                wechat=fake.user_name(),
                birthday=fake.date_of_birth(minimum_age=22, maximum_age=65),
                is_primary=True,
            )
        ]
        idents_by_index[index] = keys
    Customer.objects.bulk_create(customers, batch_size=500)
    contacts, idents, events, customer_tags = [], [], [], []
    for index, customer in enumerate(customers):
        for contact in contacts_by_index[index]:
            contact.customer = customer
            contacts.append(contact)
        for kind, value in idents_by_index[index]:
            idents.append(CustomerIdentifier(tenant=tenant, customer=customer, kind=kind, value=value))
        story, rep, moved = stories.get(index, ("", None, None))
        # A claimed customer came in through the pool; a fallen one was first its former rep's.
        first_owner = None if story == "claim" else rep if story == "fallback" else customer.owner
        events.append(
            OwnershipEvent(
                tenant=tenant,
                customer=customer,
                to_owner=first_owner,
                to_pool=None if first_owner else pool,
                reason=OwnershipEvent.Reason.CREATE,
                at=customer.created_at,
            )
        )
        if story == "claim":
            events.append(
                OwnershipEvent(
                    tenant=tenant,
                    customer=customer,
                    from_pool=pool,
                    to_owner=rep,
                    reason=OwnershipEvent.Reason.CLAIM,
                    actor=rep,
                    at=moved,
                )
            )
        elif story == "fallback":
            events.append(
                OwnershipEvent(
                    tenant=tenant,
                    customer=customer,
                    from_owner=rep,
                    to_pool=pool,
                    reason=OwnershipEvent.Reason.FALLBACK,
                    at=moved,
                )
            )
        for tag in rng.sample(tags, k=rng.choice([0, 0, 1, 2])):
            customer_tags.append(CustomerTag(tenant=tenant, customer=customer, tag=tag))
    Contact.objects.bulk_create(contacts, batch_size=1000)
    CustomerIdentifier.objects.bulk_create(idents, batch_size=1000)
    OwnershipEvent.objects.bulk_create(events, batch_size=1000)
    CustomerTag.objects.bulk_create(customer_tags, batch_size=1000)
    seed_due_soon(tenant, reps, now)
    seed_extension_requests(tenant, reps, now)
    seed_reveals(tenant, reps, now)
    seed_transfer(tenant, reps)


def seed_transfer(tenant, reps) -> None:
    """A manager's hand-over of a few customers: the audit log shows it as one sentence, expandable."""
    manager = User.objects.for_tenant(tenant).with_role(Role.MANAGER).order_by("email").first()
    if manager is None or len(reps) < 2:
        return
    moving = list(Customer.objects.managed_by(manager).filter(owner=reps[0]).order_by("pk")[:3])
    if moving:
        customer_transfer(acting_user=manager, customers=moving, to_owner=reps[1], reason="客户所在区域调整")
