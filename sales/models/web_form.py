"""A tenant's public lead form: which fields it asks, who gets the leads."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel


class WebFormField(models.TextChoices):
    NAME = "name", _("Name")
    COMPANY = "company", _("Company")
    TITLE = "title", _("Job title")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat ID")
    REGION = "region", _("Region")
    INDUSTRY = "industry", _("Industry")
    MESSAGE = "message", _("Message")


DEFAULT_WEB_FORM_FIELDS = ["name", "company", "phone", "email", "message"]


def default_web_form_fields() -> list[str]:
    return list(DEFAULT_WEB_FORM_FIELDS)


def default_web_form_required() -> list[str]:
    return ["name"]


class LeadWebForm(TenantModel):
    """The tenant's public lead form at /f/<tenant-slug>/lead/: which fields it asks for, what it says, and who
    receives the leads it brings (empty: unassigned, for managers to hand out)."""

    is_enabled = models.BooleanField(_("published"), default=False)
    title = models.CharField(_("heading"), max_length=200)
    intro = models.TextField(_("introduction"), blank=True)
    thank_you = models.TextField(_("thank-you message"))
    fields = ArrayField(
        models.CharField(max_length=10, choices=WebFormField.choices),
        default=default_web_form_fields,
        verbose_name=_("fields"),
    )
    required_fields = ArrayField(
        models.CharField(max_length=10, choices=WebFormField.choices),
        default=default_web_form_required,
        blank=True,
        verbose_name=_("required fields"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new leads go to"),
    )
    # A notice here adds a consent checkbox the visitor must tick; each change of its text is a new version.
    privacy_text = models.TextField(_("privacy notice"), blank=True)
    privacy_version = models.PositiveIntegerField(_("privacy notice version"), default=0)
    source = models.CharField(_("source of its leads"), max_length=50, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="sales_webform_one_per_tenant"),
            # A lead needs a name and a way to reach them.
            models.CheckConstraint(condition=models.Q(fields__contains=["name"]), name="sales_webform_has_name"),
            models.CheckConstraint(
                condition=models.Q(fields__contains=["phone"]) | models.Q(fields__contains=["email"]),
                name="sales_webform_has_contact_field",
            ),
        ]

    def __str__(self) -> str:
        return self.title
