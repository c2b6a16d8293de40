"""No template carries inline code or styles, so a Content-Security-Policy without 'unsafe-inline' can hold: no
event-handler attributes (onclick=, onchange=, hx-on…), no <style> blocks, no javascript: URLs, and no <script>
with code (a <script src=…> is fine, and so is data through json_script, whose type is application/json)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings


def project_template_dirs() -> list[Path]:
    """templates/ and the templates/ folder of every app of the project (crm.imports and the other machines
    under crm/ keep theirs beside their code); installed third-party packages are not ours to check."""
    base = Path(settings.BASE_DIR)
    venv = base / ".venv"
    dirs = [base / "templates"]
    for config in apps.get_app_configs():
        path = Path(config.path)
        if path.is_relative_to(base) and not path.resolve().is_relative_to(venv.resolve()):
            dirs.append(path / "templates")
    return [d for d in dirs if d.is_dir()]


TEMPLATES = sorted({p for folder in project_template_dirs() for p in folder.rglob("*.html")})
# Django tags and variables inside a tag would confuse the HTML parser: blank them out, keeping the line numbers.
DJANGO_SYNTAX = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)


class InlineCodeFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_code_script = False

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"line {line}: inline handler {name}=")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"line {line}: javascript: URL in {name}=")
        if tag == "style":
            self.problems.append(f"line {line}: <style> block")
        if tag == "script":
            attributes = dict(attrs)
            is_data = (attributes.get("type") or "").lower() == "application/json"
            self.in_code_script = "src" not in attributes and not is_data

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_code_script = False

    def handle_data(self, data):
        if self.in_code_script and data.strip():
            self.problems.append(f"line {self.getpos()[0]}: inline <script> with code")


def problems_in(text: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(DJANGO_SYNTAX.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text))
    finder.close()
    return finder.problems


def test_templates_are_found():
    assert len(TEMPLATES) > 50


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_template_has_no_inline_code_or_style(path):
    assert problems_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "snippet",
    [
        '<button onclick="go()">x</button>',
        "<select ONCHANGE='this.form.submit()'></select>",
        '<form hx-on::after-request="reset()"></form>',
        "<style>.a{color:red}</style>",
        '<a href="javascript:void(0)">x</a>',
        "<script>alert(1)</script>",
        '<script type="text/javascript">{% if x %}alert(1){% endif %}</script>',
    ],
)
def test_the_check_catches_each_kind(snippet):
    assert problems_in(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "<script src=\"{% static 'js/crm/crm.js' %}\"></script>",
        '<script id="data" type="application/json">{"a": 1}</script>',
        '<button data-confirm="{% translate "Delete?" %}">x</button>',
        "<p>Call us online</p>",
    ],
)
def test_the_check_lets_static_scripts_and_data_through(snippet):
    assert problems_in(snippet) == []
