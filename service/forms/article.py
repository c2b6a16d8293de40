"""The knowledge-base forms: an article, a category, the list's query parameters, a vote."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.forms import QueryForm
from service.forms.ticket import TagsField
from service.kb_models import Article, ArticleCategory


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=300,
        required=False,
        help_text=_("One or two sentences; search engines show it."),
    )
    body = forms.CharField(
        label=_("Text (Markdown)"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Markdown: **bold**, # headings, - lists, [links](https://…). HTML is shown as text."),
    )
    category = forms.ModelChoiceField(label=_("Category"), queryset=ArticleCategory.objects.none(), required=False)
    tags = TagsField(label=_("Tags"), required=False, help_text=_("Separated by commas."))
    visibility = forms.ChoiceField(label=_("Who may read it"), choices=Article.Visibility.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Article.State.choices)
    related = forms.ModelMultipleChoiceField(
        label=_("Related articles"), queryset=Article.objects.none(), required=False
    )
    note = forms.CharField(label=_("What changed"), max_length=200, required=False)

    def __init__(self, *args, user, article: Article | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ArticleCategory.objects.filter(tenant_id=user.tenant_id)
        related = Article.objects.visible_to(user).only("pk", "title").order_by("title")
        if article is not None:
            related = related.exclude(pk=article.pk)
        else:
            del self.fields["note"]
        self.fields["related"].queryset = related
        self.fields["related"].widget.attrs["size"] = 6


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("New category"), max_length=80)


ARCHIVED = "archived"


class ArticleQueryForm(QueryForm):
    """The list's query parameters: the search words, a category, a status; a bad value falls back to none."""

    q = forms.CharField(required=False, max_length=200)
    category = forms.ModelChoiceField(queryset=ArticleCategory.objects.none(), required=False)
    # "archived" lists the archived articles (the others are listed without them).
    status = forms.ChoiceField(
        choices=[("", ""), *Article.State.choices, (ARCHIVED, pgettext_lazy("article", "Archived"))], required=False
    )
    visibility = forms.ChoiceField(choices=[("", "")] + list(Article.Visibility.choices), required=False)
    defaults = {"q": "", "category": None, "status": "", "visibility": ""}

    def __init__(self, *args, tenant_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ArticleCategory.objects.filter(tenant_id=tenant_id)


class VoteForm(forms.Form):
    helpful = forms.TypedChoiceField(choices=[("yes", "yes"), ("no", "no")], coerce=lambda v: v == "yes")
