"""The contact form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.api.forms import CustomFieldsFormMixin
from customers.models import Contact


class ContactForm(CustomFieldsFormMixin, forms.ModelForm):
    mobile = forms.CharField(
        label=_("Mobile"), max_length=40, required=False, help_text=_("Mobile or landline; +86 may be left out.")
    )
    phone = forms.CharField(label=_("Other phone"), max_length=40, required=False)

    marketing_consent = forms.BooleanField(
        label=_("Agrees to receive greetings and offers"),
        required=False,
        help_text=_("Marketing consent: the date and who recorded it are kept. Unsubscribed contacts get nothing."),
    )

    class Meta:
        model = Contact
        fields = [
            "name",
            "title",
            "mobile",
            "phone",
            "email",
            "wechat",
            "birthday",
            "lunar_birthday_month",
            "lunar_birthday_day",
            "lunar_birthday_leap",
            "prefers_lunar_birthday",
            "is_primary",
            "notes",
        ]
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"}), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, tenant_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        contact = self.instance
        if tenant_id is not None:
            self.add_custom_fields(tenant_id, "contact", contact.custom if contact.pk else None)
        if contact.pk:
            self.fields["marketing_consent"].initial = contact.marketing_consent and contact.unsubscribed_at is None
            if contact.unsubscribed_at:
                self.fields["marketing_consent"].help_text = _(
                    "Unsubscribed on %(date)s (%(source)s). Tick only if the contact has agreed again."
                ) % {"date": contact.unsubscribed_at.date().isoformat(), "source": contact.unsubscribe_source}

    def clean(self):
        cleaned = super().clean()
        month, day = cleaned.get("lunar_birthday_month"), cleaned.get("lunar_birthday_day")
        if (month is None) != (day is None):
            self.add_error("lunar_birthday_day", _("A lunar birthday needs both its month and its day."))
        return cleaned
