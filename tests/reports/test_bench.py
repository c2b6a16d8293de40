"""`make bench` at a tiny scale: the seed fills what it promises (and is skipped the second time), the measuring
command writes one row per page and role and per job, in the shape README's table is made from."""

import json

import pytest
from django.core.management import call_command

from crm.models import Role, Tenant, User
from customers.models import Contact, Customer, CustomerIdentifier
from customers.normalize import pinyin_forms
from customers.services.holdings import holdings_drift
from reports.management.commands.bench_pages import PAGES
from sales.models import FollowUp, Lead, Opportunity

pytestmark = pytest.mark.django_db


def test_bench_seed_then_pages(tmp_path):
    call_command("bench_seed", scale=0.0005, small_tenants=2, stdout=open("/dev/null", "w"))  # noqa: SIM115
    big = Tenant.objects.get(slug="bench-million")
    customers = Customer.objects.filter(tenant=big)
    assert customers.count() == 500
    assert Contact.objects.filter(tenant=big).count() == 1000
    # Every company name, every mobile, nine in ten emails.
    assert CustomerIdentifier.objects.filter(tenant=big).count() == 500 + 1000 + 900
    assert Opportunity.objects.filter(tenant=big).count() == 250
    assert Lead.objects.filter(tenant=big).count() == 150
    assert FollowUp.objects.filter(tenant=big).count() == 900
    assert User.objects.filter(tenant=big, roles__contains=[Role.REP]).count() == 200
    assert Tenant.objects.filter(slug__startswith="bench-small-").count() == 2
    # The app's own pinyin, per word: the stored forms are those of the whole name.
    sample = customers.order_by("pk").first()
    assert (sample.name_pinyin, sample.name_initials) == pinyin_forms(sample.name)
    assert customers.filter(owner__isnull=True).count() == 50
    # Seeded with the triggers off, the count of customers held per owner is put right afterwards.
    assert all(holdings_drift(tenant.pk) == [] for tenant in Tenant.objects.filter(slug__startswith="bench-"))

    call_command("bench_seed", scale=0.0005, small_tenants=2, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Customer.objects.filter(tenant=big).count() == 500

    output = tmp_path / "results.json"
    call_command("bench_pages", repeat=1, output=str(output), stdout=open("/dev/null", "w"))  # noqa: SIM115
    rows = json.loads(output.read_text(encoding="utf-8"))
    assert len(rows) == sum(len(roles) for _name, _url, roles in PAGES) + 2
    for row in rows:
        assert set(row) == {"name", "role", "ms", "sql_ms", "queries"}
        assert row["role"] in ("admin", "manager", "rep", "job")
        assert row["ms"] > 0 and row["sql_ms"] >= 0 and row["queries"] > 0
    assert [r["name"] for r in rows if r["role"] == "job"] == ["customer fall-back", "lead fall-back"]


def test_bench_import_adds_its_jobs_beside_the_pages(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    output = tmp_path / "results.json"
    output.write_text(
        json.dumps([{"name": "customer list, page 1", "role": "admin", "ms": 1, "sql_ms": 1, "queries": 1}])
    )
    out = open("/dev/null", "w")  # noqa: SIM115
    call_command("bench_import", rows=300, existing=60, reminders=20, output=str(output), stdout=out)
    call_command("bench_import", rows=300, existing=60, reminders=20, output=str(output), stdout=out)  # reused
    rows = json.loads(output.read_text(encoding="utf-8"))
    names = [r["name"] for r in rows]
    # The pages' row is kept; a second run replaces its own rows rather than adding more.
    assert names[0] == "customer list, page 1" and len(names) == len(set(names))
    assert {"customer import csv, commit", "customer import xlsx, commit", "reminders, 20 due"} <= set(names)
    assert {r["role"] for r in rows[1:]} == {"job"}
    commit = next(r for r in rows if r["name"] == "customer import csv, commit")
    assert commit["rows_per_s"] > 0 and commit["queries"] > 0
    reminders = next(r for r in rows if r["name"] == "reminders, 20 due")
    assert reminders["queries"] > 0
    # The tenant keeps only the customers it was seeded with: each measured import is rolled back.
    tenant = Tenant.objects.get(slug="bench-import")
    assert 0 < Customer.objects.filter(tenant=tenant).count() <= 60
