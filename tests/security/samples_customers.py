"""Sample URL arguments for the customers app's own pages (see samples_crm.py for the contract).

Destructive endpoints (delete, contact delete) get their own customer, so the sweep's check that A's user is not
told 404 does not remove the samples other patterns use."""

from customers.models import Contact, Customer

from .marks import named


def _customer(world, name="MARKA 云帆科技有限公司"):
    return Customer.objects.get(tenant=world.tenant, name=named(world, name), deleted_at__isnull=True)


def _contact(world, name="MARKA 云帆科技有限公司"):
    customer = _customer(world, name)
    return {
        "pk": customer.pk,
        "contact_pk": Contact.objects.filter(customer=customer).values_list("pk", flat=True).first(),
    }


SAMPLES = {
    "customers:detail": lambda w: {"pk": _customer(w).pk},
    "customers:edit": lambda w: {"pk": _customer(w).pk},
    "customers:delete": lambda w: {"pk": _customer(w, "MARKA 可删除公司").pk},
    "customers:contact_create": lambda w: {"pk": _customer(w).pk},
    "customers:contact_edit": _contact,
    "customers:contact_delete": lambda w: _contact(w, "MARKA 可删除公司"),
    "customers:contact_reveal": _contact,
    "customers:contact_personal_data": _contact,
    "customers:contact_erase": _contact,
    "customers:share": lambda w: {"pk": _customer(w).pk},
    "customers:unshare": lambda w: {"pk": _customer(w).pk, "user_pk": w.rep2.pk},
}
