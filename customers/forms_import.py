"""Forms of the customer import: the upload (file and whom to import for) and the column mapping."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import User

from . import importer
from .models import ImportJob

POOL = "pool"
RULES = "rules"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GB18030) or Excel .xlsx, at most 20 MB, with a header row."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    target = forms.ChoiceField(label=_("Import for"), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        owners = list(importer.import_owners(user).order_by("full_name", "pk"))
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(str(u.pk), u.full_name or u.email) for u in owners if u.pk != user.pk]
        if importer.may_choose_pool(user):
            choices.append((POOL, _("The public pool (no owner)")))
            choices.append((RULES, _("Owners chosen by the assignment rules")))
        self.owners = {str(u.pk): u for u in owners}
        self.owners.setdefault(str(user.pk), user)
        if len(choices) == 1:
            # A rep imports into their own holdings: nothing to choose.
            del self.fields["target"]
        else:
            self.fields["target"].choices = choices
            self.fields["target"].initial = str(user.pk)

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        name = (uploaded.name or "").lower()
        if not name.endswith(importer.ALLOWED_EXTENSIONS):
            if name.endswith(".xls"):
                raise forms.ValidationError(
                    _("Old Excel files (.xls) are not supported; save the file as .xlsx or CSV.")
                )
            raise forms.ValidationError(_("Upload a CSV or Excel (.xlsx) file."))
        if uploaded.size > importer.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it into smaller files."))
        if not uploaded.size:
            raise forms.ValidationError(_("The file is empty."))
        return uploaded

    def owner(self) -> User | None:
        """The chosen owner; None = the default pool."""
        target = self.cleaned_data.get("target") or str(self.user.pk)
        if target in (POOL, RULES):
            return None
        return self.owners.get(target, self.user)

    def by_rules(self) -> bool:
        return self.cleaned_data.get("target") == RULES


class ImportMappingForm(forms.Form):
    """One choice per field of a customer: which column of the file fills it (or none)."""

    def __init__(self, *args, job: ImportJob, **kwargs):
        super().__init__(*args, **kwargs)
        columns = [("", _("— not imported —"))]
        for index, header in enumerate(job.headers):
            label = header or _("Column %(number)d") % {"number": index + 1}
            columns.append((str(index), label))
        current = importer.job_columns(job)
        for target in importer.TARGETS:
            self.fields[target.key] = forms.ChoiceField(
                label=target.label,
                choices=columns,
                required=target.key == "name",
                initial=str(current[target.key]) if target.key in current else "",
            )
        self.fields["name"].error_messages["required"] = _("Choose the column that holds the customer name.")

    def clean(self):
        data = super().clean()
        used: dict[str, str] = {}
        for target in importer.TARGETS:
            column = data.get(target.key)
            if not column:
                continue
            if column in used:
                self.add_error(
                    target.key,
                    _("This column is already imported as “%(field)s”.") % {"field": used[column]},
                )
            else:
                used[column] = str(target.label)
        return data

    def columns(self) -> dict[str, int]:
        return {t.key: int(self.cleaned_data[t.key]) for t in importer.TARGETS if self.cleaned_data.get(t.key)}
