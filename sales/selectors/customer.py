"""Which of the customers that sales records point to the user may see: one query for a whole page."""

from __future__ import annotations

from crm.models import User
from customers.models import Customer


def visible_customer_ids(user: User, ids) -> set[int]:
    ids = {i for i in ids if i}
    if not ids:
        return set()
    return set(Customer.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))


def mark_customer_visibility(user: User, rows) -> None:
    """A row linked to a customer the user no longer sees shows no name: one query for the whole page."""
    visible = visible_customer_ids(user, [r.customer_id for r in rows])
    for row in rows:
        row.customer_visible = row.customer_id in visible
