"""`{% custom_values "lead" lead %}`: a record's custom field values on its page, in the fields' order."""

from django import template

from crm.api.services.custom_field import custom_display, custom_fields_for

register = template.Library()


@register.inclusion_tag("api/custom_field/values.html", takes_context=True)
def custom_values(context, kind: str, record) -> dict:
    # The kind's fields are read once per rendering, however many records the page shows (a customer's contacts).
    cache = context.render_context.setdefault("custom_fields", {})
    if kind not in cache:
        cache[kind] = custom_fields_for(record.tenant_id, kind)
    return {"custom_values": custom_display(record.tenant_id, kind, record.custom, fields=cache[kind])}
