"""The forms of an import: the upload (the file, and whom the kind imports for) and the column mapping."""

from __future__ import annotations

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from crm.errors import DomainError
from crm.imports.kind import ImportKind
from crm.imports.models import ImportJob
from crm.imports.reader import ImportFileError, check_upload_name, max_upload_bytes
from crm.models import User


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))
    target = forms.ChoiceField(label=_("Import for"), required=False)

    def __init__(self, *args, kind: type[ImportKind], user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8 or GB18030) or Excel .xlsx, at most %(size)s, with a header row."
        ) % {"size": filesizeformat(max_upload_bytes())}
        choices = kind.destinations(user)
        if len(choices) <= 1:
            # Nothing to choose (a rep imports into their own holdings, some kinds import for nobody).
            del self.fields["target"]
        else:
            self.fields["target"].choices = choices
            self.fields["target"].initial = choices[0][0]

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        try:
            check_upload_name(uploaded.name, uploaded.size)
        except ImportFileError as exc:
            raise forms.ValidationError(exc.message) from exc
        return uploaded

    def destination(self) -> str | None:
        return self.cleaned_data.get("target") or None


class ImportMappingForm(forms.Form):
    """One choice per target of the kind: which column of the file fills it (or none)."""

    def __init__(self, *args, job: ImportJob, kind: type[ImportKind], **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.tenant_id = job.tenant_id
        self.targets = kind.targets_for(job.tenant_id)
        columns = [("", _("— not imported —"))]
        for index, header in enumerate(job.headers):
            columns.append((str(index), header or _("Column %(number)d") % {"number": index + 1}))
        current = job.mapping or {}
        for target in self.targets:
            field = forms.ChoiceField(
                label=target.label,
                choices=columns,
                required=False,
                initial=str(current[target.key]) if target.key in current else "",
            )
            field.marked_required = target.required
            self.fields[target.key] = field

    def clean(self):
        data = super().clean()
        used: dict[str, str] = {}
        for target in self.targets:
            column = data.get(target.key)
            if not column:
                continue
            if column in used:
                self.add_error(
                    target.key, _("This column is already imported as “%(field)s”.") % {"field": used[column]}
                )
            else:
                used[column] = str(target.label)
        if not self.errors:
            try:
                self.kind.check_mapping(self.columns())
                self.kind.check_custom_mapping(self.columns(), self.tenant_id)
            except DomainError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def columns(self) -> dict[str, int]:
        return {t.key: int(self.cleaned_data[t.key]) for t in self.targets if self.cleaned_data.get(t.key)}


class PreviewFilterForm(forms.Form):
    """The preview's filter: every row, or only the rejected ones."""

    problems = forms.BooleanField(required=False)


class ProgressPhaseForm(forms.Form):
    """Which step the polling page waits for: "check" when the preview page waits for the rows to be checked."""

    phase = forms.ChoiceField(choices=[("", ""), ("check", "check")], required=False)

    def value(self) -> str:
        return self.cleaned_data["phase"] if self.is_valid() else ""
