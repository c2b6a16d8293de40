"""The public lead form of a tenant: its settings, and a submission becoming a lead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify
from customers.services.assignment import choose_owner, notify_new_owners
from sales.models import (
    Lead,
    LeadOrigin,
    LeadWebForm,
    WebFormField,
)
from sales.services.lead import clean_lead_data, create_lead, default_lead_owner


def web_form_for(tenant: Tenant) -> LeadWebForm:
    """The tenant's web form, or an unsaved one with sensible defaults in the tenant's language."""
    form = LeadWebForm.objects.filter(tenant=tenant).select_related("owner").first()
    if form is not None:
        return form
    with translation.override(tenant.language):
        return LeadWebForm(
            tenant=tenant,
            title=_("Contact %(company)s") % {"company": tenant.name},
            intro=_("Tell us how to reach you and what you need; we will get back to you soon."),
            thank_you=_("Thank you! We have received your message and will contact you soon."),
            source=_("Web form"),
        )


def web_form_save(
    *,
    acting_user: User,
    is_enabled: bool,
    title: str,
    intro: str,
    thank_you: str,
    fields: Sequence[str],
    required_fields: Sequence[str],
    owner: User | None,
    source: str = "",
    campaign: str = "",
    privacy_text: str | None = None,
) -> LeadWebForm:
    """Admins choose what the public form asks for, what it says and who gets its leads. A privacy notice
    (`privacy_text`; None keeps the current one) makes visitors tick their consent; changing its text makes a new
    version, so each lead keeps the version and the text its visitor agreed to."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    fields = [f for f in WebFormField.values if f in set(fields) | {"name"}]
    required = [f for f in fields if f in set(required_fields) | {"name"}]
    if "phone" not in fields and "email" not in fields:
        raise DomainError(_("Ask for a phone number or an email, so the leads can be reached."), field="fields")
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the form a heading."), field="title")
    thank_you = (thank_you or "").strip()
    if not thank_you:
        raise DomainError(_("Write what visitors read after sending the form."), field="thank_you")
    if owner is not None and (owner.tenant_id != tenant.pk or not owner.is_active):
        raise DomainError(_("Choose an active colleague."), field="owner")
    with transaction.atomic():
        form = LeadWebForm.objects.select_for_update().filter(tenant=tenant).first()
        creating = form is None
        if creating:
            form = LeadWebForm(tenant=tenant, created_by=acting_user)
        form.is_enabled, form.title, form.intro, form.thank_you = is_enabled, title[:200], intro or "", thank_you
        form.fields, form.required_fields, form.owner = fields, required, owner
        form.source, form.campaign = (source or "").strip()[:50], (campaign or "").strip()[:100]
        if privacy_text is not None:
            privacy_text = privacy_text.strip()
            if privacy_text != form.privacy_text:
                form.privacy_text = privacy_text
                form.privacy_version += 1
        form.save()
        audit(
            tenant=tenant,
            actor=acting_user,
            action="lead_form.update",
            obj=form,
            details={
                "enabled": is_enabled,
                "fields": fields,
                "required": required,
                "owner": owner.pk if owner else None,
                "privacy_version": form.privacy_version,
            },
        )
    return form


def lead_submit_web_form(
    *,
    web_form: LeadWebForm,
    data: dict[str, Any],
    campaign: str = "",
    source: str = "",
    consent: bool = False,
    privacy_version: int | None = None,
) -> Lead:
    """A visitor's submission (already past the bot checks): a new lead for the form's owner or unassigned, never
    refused for being a duplicate. A form with a privacy notice needs the visitor's consent to the version they
    were shown (`privacy_version`); the lead keeps that version and its text."""
    tenant = web_form.tenant
    if not web_form.is_enabled or not tenant.is_active:
        raise DomainError(_("This form is closed."))
    if web_form.privacy_text:
        if not consent:
            raise DomainError(_("Please agree to the privacy notice to send the form."), field="consent")
        if privacy_version is not None and privacy_version != web_form.privacy_version:
            raise DomainError(
                _("The privacy notice has just changed. Please read it again and tick your consent."), field="consent"
            )
    asked = set(web_form.fields)
    values_in = {k: (v if k in asked else "") for k, v in data.items()}
    for field in web_form.required_fields:
        if field in asked and not str(values_in.get(field) or "").strip():
            raise DomainError(_("This field is required."), field=field)
    values_in["source"] = (source or web_form.source or "")[:50]
    values_in["campaign"] = (campaign or web_form.campaign or "")[:100]
    values = clean_lead_data(tenant, values_in, check_lists=False)
    owner = default_lead_owner(tenant=tenant, web_form=web_form, origin=LeadOrigin.WEB_FORM)
    with transaction.atomic():
        rule = None
        if owner is None:
            # No owner on the form: the tenant's assignment rules decide, inside this transaction so that
            # simultaneous submissions take turns; no matching rule leaves the lead for managers to hand out.
            owner, rule = choose_owner(
                tenant=tenant,
                record_kind="lead",
                attrs={k: values.get(k, "") for k in ("source", "region", "industry")} | {"tags": []},
            )
        lead = create_lead(
            tenant=tenant, values=values, owner=owner, origin=LeadOrigin.WEB_FORM, actor=None, web_form=web_form
        )
        if web_form.privacy_text:
            lead.consent_at = timezone.now()
            lead.consent_version, lead.consent_text = web_form.privacy_version, web_form.privacy_text
            lead.save(update_fields=["consent_at", "consent_version", "consent_text"])
        if owner is not None and rule is not None:
            notify_new_owners({owner.pk: [("lead", str(lead), rule.name)]}, key=f"lead-rule:{lead.pk}")
        elif owner is not None:
            notify(
                recipient=owner,
                title=lazy_format(gettext_lazy("New lead from the web form: %(lead)s"), lead=str(lead)),
                url=reverse("sales:lead_detail", args=[lead.pk]),
                key=f"lead-web:{lead.pk}",
                email=False,
            )
    return lead
