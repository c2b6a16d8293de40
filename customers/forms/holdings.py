"""A rep picker that shows each rep's holdings against the company's cap ("王一 — holds 180 of 200")."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _

from crm.models import User
from customers.services.holdings import holdings_of, room_left


class RepWithHoldingsField(forms.ModelChoiceField):
    """Each choice says how many customers the rep holds, and the cap; one query for every choice's count."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: dict[int, int] | None = None
        self._tenant = None

    def _holdings(self, user: User) -> dict[int, int]:
        if self._held is None:
            ids = [u.pk for u in self.queryset]
            self._held = holdings_of(user.tenant_id, ids)
        return self._held

    def label_from_instance(self, obj: User) -> str:
        name = obj.full_name or obj.email
        held = self._holdings(obj).get(obj.pk, 0)
        if self._tenant is None:
            self._tenant = obj.tenant  # every choice is of one tenant
        tenant = self._tenant
        cap = tenant.max_customers_per_rep
        if cap is None:
            return _("%(name)s — holds %(held)d") % {"name": name, "held": held}
        if room_left(tenant, held) == 0:
            return _("%(name)s — holds %(held)d of %(cap)d (full)") % {"name": name, "held": held, "cap": cap}
        return _("%(name)s — holds %(held)d of %(cap)d") % {"name": name, "held": held, "cap": cap}
