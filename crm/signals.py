"""Signals through which later apps react to core events without `crm` importing them."""

from django.dispatch import Signal

# Sent inside the transaction that creates a tenant: kwargs tenant, admin. Receivers add their defaults.
tenant_created = Signal()

# Sent inside the transaction that deactivates a user: kwargs user, acting_user.
user_deactivated = Signal()

# Sent inside the transaction that changes a tenant's settings: kwargs tenant, changes ({field: [old, new]}),
# acting_user. Receivers redo what depends on a changed field (e.g. figures kept per local day or month).
tenant_updated = Signal()
