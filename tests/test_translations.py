"""Every UI string is translated into Simplified Chinese: no untranslated or fuzzy entry.

The catalog is regenerated from the current source in a scratch copy, so a new string that nobody added to
locale/zh_Hans/LC_MESSAGES/django.po fails this test too.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = Path("locale/zh_Hans/LC_MESSAGES/django.po")


def entries(po_text: str) -> list[str]:
    """The msgids of a .po text, without the header entry."""
    return [m for m in re.findall(r'^msgid "(.*)"$', po_text, flags=re.M) if m]


def test_zh_hans_catalog_is_complete(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "staticfiles", "media", "node_modules", "__pycache__", "*.mo", "tests"
        ),
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-location", "-v0"],
        cwd=src,
        env=env,
        check=True,
        timeout=300,
    )
    po = src / PO
    untranslated = subprocess.run(["msgattrib", "--untranslated", str(po)], capture_output=True, text=True, check=True)
    fuzzy = subprocess.run(["msgattrib", "--only-fuzzy", str(po)], capture_output=True, text=True, check=True)
    missing = entries(untranslated.stdout)
    assert not missing, f"{len(missing)} strings lack a zh-hans translation, e.g. {missing[:10]}"
    assert not entries(fuzzy.stdout), f"fuzzy entries: {entries(fuzzy.stdout)[:10]}"


def test_catalog_compiles_without_errors(tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(ROOT / PO)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
