"""An agent's presence: away agents get no new tickets from dispatch."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from crm.access import is_tenant_user
from crm.errors import DomainError
from crm.models import Role, User
from crm.services.audit import audit
from service.models import AgentPresence


def presence_set(*, acting_user: User, away: bool) -> bool:
    if not (is_tenant_user(acting_user) and acting_user.has_any_role(Role.AGENT)):
        raise DomainError(_("Only service agents mark themselves away."))
    with transaction.atomic():
        AgentPresence.objects.update_or_create(
            tenant_id=acting_user.tenant_id, user=acting_user, defaults={"away": away}
        )
        audit(tenant=acting_user.tenant, actor=acting_user, action="service.presence", details={"away": away})
    return away
