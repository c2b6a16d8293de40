"""Sample URL arguments for the customers app's own pages (see samples_crm.py for the contract).

Destructive endpoints (delete, contact delete) get their own customer, so the sweep's check that A's user is not
told 404 does not remove the samples other patterns use."""

from customers.models import ChoiceEntry, Contact, Customer, CustomerLevel, Tag

from .marks import named


def _customer(world, name="MARKA 云帆科技有限公司"):
    return Customer.objects.get(tenant=world.tenant, name=named(world, name), deleted_at__isnull=True)


def _contact(world, name="MARKA 云帆科技有限公司"):
    customer = _customer(world, name)
    return {
        "pk": customer.pk,
        "contact_pk": Contact.objects.filter(customer=customer).values_list("pk", flat=True).first(),
    }


def _level(world, code):
    return {"pk": CustomerLevel.objects.get_or_create(tenant=world.tenant, code=code, defaults={"name": code})[0].pk}


def _tag(world, name):
    return {"pk": Tag.objects.get_or_create(tenant=world.tenant, name=named(world, name))[0].pk}


def _value(world):
    entry, _created = ChoiceEntry.objects.get_or_create(
        tenant=world.tenant, kind="region", value=named(world, "MARKA 区")
    )
    return {"pk": entry.pk}


SAMPLES = {
    "value_entry_edit": _value,
    "level_edit": lambda w: _level(w, "MK1"),
    "level_delete": lambda w: _level(w, "MK2"),
    "tag_edit": lambda w: _tag(w, "MARKA 标签"),
    "tag_delete": lambda w: _tag(w, "MARKA 待删标签"),
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
