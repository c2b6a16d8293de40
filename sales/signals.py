"""Signals through which later apps (the reports' funnel facts) follow sales rows written around the ORM's per-row
signals, without sales importing them."""

from django.dispatch import Signal

# Sent inside the writing transaction after opportunities or their stage changes were written in bulk
# (bulk_create, QuerySet.update, raw SQL), which post_save never sees: kwargs tenant_id, opportunity_ids.
opportunities_written = Signal()


def opportunities_written_announce(*, tenant_id: int, opportunity_ids) -> None:
    """Tell the followers that these opportunities of the tenant (or their stage history) were written in bulk."""
    ids = sorted({int(pk) for pk in opportunity_ids})
    if ids:
        opportunities_written.send(sender=None, tenant_id=tenant_id, opportunity_ids=ids)
