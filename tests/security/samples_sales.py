"""Sample URL arguments for the sales app's patterns (see samples_crm.py for the contract).

The sweep plants customers, not sales rows, so every sample first plants tenant A's follow-up, task, appointments
and orders (idempotently, marked "MARKA"). The alphabetically first sales pattern takes arguments
("sales:appointment_cancel"), so the list pages (calendar, follow-ups, orders, tasks) are swept with A's rows in
place. Destructive endpoints (cancel, void) get their own rows, so the viewer check does not spoil other samples.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Customer
from sales.models import Appointment, FollowUp, Order, Task
from sales.services.appointment import appointment_save
from sales.services.followup import followup_log
from sales.services.order import order_create
from sales.services.task import task_create

from .marks import named

CUSTOMER = "MARKA 云帆科技有限公司"


def plant(world) -> dict:
    """Tenant A's sales rows (once per world), returned by name."""
    tenant = world.tenant
    customer = Customer.objects.get(tenant=tenant, name=named(world, CUSTOMER), deleted_at__isnull=True)
    if not FollowUp.objects.filter(tenant=tenant, content=named(world, "MARKA follow-up")).exists():
        now = timezone.now()
        followup_log(
            acting_user=world.rep1,
            customer=customer,
            kind="call",
            content=named(world, "MARKA follow-up"),
            next_step=named(world, "MARKA next"),
        )
        task_create(
            acting_user=world.rep1,
            title=named(world, "MARKA task"),
            due_at=now + timedelta(hours=2),
            remind_at=now + timedelta(hours=1),
            customer=customer,
            notes=named(world, "MARKA notes"),
        )
        for title, hours in ((named(world, "MARKA appointment"), 1), (named(world, "MARKA appointment to cancel"), 4)):
            appointment_save(
                acting_user=world.rep1,
                title=title,
                start_at=now + timedelta(hours=hours),
                end_at=now + timedelta(hours=hours + 1),
                place=named(world, "MARKA place"),
                customer=customer,
                attendees=[world.rep2],
            )
        for reference in (named(world, "MARKA-SO-1"), named(world, "MARKA-SO-VOID")):
            order_create(
                acting_user=world.rep1,
                customer=customer,
                ordered_on=timezone.localdate(),
                currency=tenant.currency,
                amount=Decimal("88.00"),
                reference=reference,
                items_text=named(world, "MARKA items"),
            )
    return {
        "customer": customer,
        "follow_up": FollowUp.objects.get(tenant=tenant, content=named(world, "MARKA follow-up")),
        "task": Task.objects.get(tenant=tenant, title=named(world, "MARKA task")),
        "appointment": Appointment.objects.get(tenant=tenant, title=named(world, "MARKA appointment")),
        "appointment_to_cancel": Appointment.objects.get(
            tenant=tenant, title=named(world, "MARKA appointment to cancel")
        ),
        "order": Order.objects.get(tenant=tenant, reference=named(world, "MARKA-SO-1")),
        "order_to_void": Order.objects.get(tenant=tenant, reference=named(world, "MARKA-SO-VOID")),
    }


def _pk(key):
    return lambda w: {"pk": plant(w)[key].pk}


SAMPLES = {
    "sales:appointment_cancel": _pk("appointment_to_cancel"),
    "sales:appointment_detail": _pk("appointment"),
    "sales:appointment_edit": _pk("appointment"),
    "sales:followup_create": lambda w: {"customer_pk": plant(w)["customer"].pk},
    "sales:followup_edit": _pk("follow_up"),
    "sales:order_detail": _pk("order"),
    "sales:order_void": _pk("order_to_void"),
    "sales:task_detail": _pk("task"),
    "sales:task_done": _pk("task"),
    "sales:task_edit": _pk("task"),
    "sales:task_reopen": _pk("task"),
}

VIEWERS = {
    # Only the author edits a follow-up (within 24 hours).
    "sales:followup_edit": "rep1",
}
