"""Benchmark the business clock for an SLA job: N tickets' deadlines and elapsed business time on one tenant's
calendar (China's holidays, a lunch break, a few overrides). Works in a transaction it rolls back, so it leaves
nothing behind; run it against a scratch database (see `make bench`)."""

import datetime as dt
import random
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.models import Tenant
from crm.workcalendar import selectors
from crm.workcalendar.models import CalendarOverride, WorkCalendar


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time add_business_minutes and business_minutes_between over many tickets."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000)

    def handle(self, *args, tickets, **opts):
        try:
            with transaction.atomic():
                self._run(tickets)
                raise Rollback
        except Rollback:
            pass

    def _run(self, tickets: int) -> None:
        tenant = Tenant.objects.create(name="Bench calendar", slug="bench-calendar")
        WorkCalendar.objects.create(tenant=tenant)
        CalendarOverride.objects.bulk_create(
            CalendarOverride(tenant=tenant, day=dt.date(2026, 6, 1) + dt.timedelta(days=7 * i), is_working=False)
            for i in range(20)
        )
        rng = random.Random(7)
        now = timezone.now()
        starts = [now - dt.timedelta(seconds=rng.randrange(0, 120 * 86400)) for _ in range(tickets)]
        targets = [rng.choice([60, 240, 480, 1440, 2880]) for _ in range(tickets)]

        began = time.perf_counter()
        selectors.business_calendar(tenant, fresh=True).year(now.year)
        cold = time.perf_counter() - began

        began = time.perf_counter()
        deadlines = [selectors.add_business_minutes(tenant, s, m) for s, m in zip(starts, targets, strict=True)]
        adding = time.perf_counter() - began

        began = time.perf_counter()
        for s in starts:
            selectors.business_minutes_between(tenant, s, now)
        measuring = time.perf_counter() - began

        breached = sum(1 for d in deadlines if d < now)
        self.stdout.write(f"one year's calendar built and cached:      {cold * 1000:8.1f} ms")
        self.stdout.write(f"{tickets} deadlines (add_business_minutes): {adding * 1000:8.1f} ms")
        self.stdout.write(f"{tickets} elapsed (business_minutes_between): {measuring * 1000:8.1f} ms")
        self.stdout.write(f"({breached} of them past their deadline)")
