"""QuickSelect renders the same HTML as Django's Select, escaped the same way."""

import pytest
from django import forms
from django.test.html import parse_html

from crm.forms import QuickSelect

CHOICES = [
    ("", "---------"),
    (1, "张三 <b>&"),
    (2, 'quote " here'),
    ("组", [(3, "三"), ("<4>", "四")]),
    (5, "五"),
]


@pytest.mark.parametrize(
    ("value", "attrs"),
    [(None, None), (2, {"class": "form-select", "id": "id_owner"}), ("<4>", {"required": True}), ("", {})],
)
def test_the_same_html_as_django_select(value, attrs):
    ours = QuickSelect(choices=CHOICES).render("owner", value, attrs)
    theirs = forms.Select(choices=CHOICES).render("owner", value, attrs)
    assert parse_html(ours) == parse_html(theirs)
    assert "<b>" not in ours and "&lt;b&gt;" in ours


def test_a_multiple_select_marks_every_chosen_value():
    class Multiple(QuickSelect):
        allow_multiple_selected = True

    ours = Multiple(choices=CHOICES).render("tags", [1, 5], {})
    assert parse_html(ours) == parse_html(forms.SelectMultiple(choices=CHOICES).render("tags", [1, 5], {}))
    assert ours.count(" selected") == 2
