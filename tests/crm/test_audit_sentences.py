"""Every audit action the code writes reads as a sentence on /settings/audit/: the action codes are collected from
the source (the `action=` of every call, `action = …` and `audit_action = …` assignments, the `action` argument of
helpers that pass it on, and the f-strings listed below with the values they take), and each must have its
AuditAction in the registry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

from crm.registry import registry

ROOT = Path(settings.BASE_DIR)
APPS = ("crm", "customers", "sales", "service", "marketing", "reports")
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

# Action codes built at run time: the f-string's source → every code it can give. A new f-string fails the test
# until it is listed here.
DYNAMIC = {
    'f"{kind.audit_action}.upload"': None,  # expanded from every `audit_action = …` below
    # customers.services.extension.ownership_extension_decide, with action "extension" (customers) or
    # "lead.extension" (lead pools).
    'f"{action}.{request.status}"': [
        f"{prefix}.{status}"
        for prefix in ("extension", "lead.extension")
        for status in ("approved", "declined", "withdrawn")
    ],
    'f"quote.{approval.status}"': ["quote.approved", "quote.rejected", "quote.withdrawn"],
    'f"quote.{quote.status}"': ["quote.accepted", "quote.declined"],
    'f"contract.{approval.status}"': ["contract.approved", "contract.rejected", "contract.withdrawn"],
}


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _constants(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def collected() -> tuple[set[str], list[str]]:
    """(the action codes found, the f-strings not in DYNAMIC)."""
    codes: set[str] = set()
    import_actions: set[str] = set()
    unknown: list[str] = []
    for path in _sources():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        # Helpers that take the action as a parameter: its position, to read their positional calls.
        helpers = {
            f.name: [a.arg for a in f.args.args].index("action")
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and "action" in [a.arg for a in f.args.args]
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "action":
                        if isinstance(kw.value, ast.JoinedStr):
                            text = ast.get_source_segment(source, kw.value)
                            if text not in DYNAMIC:
                                unknown.append(f"{path.relative_to(ROOT)}: {text}")
                            else:
                                codes.update(DYNAMIC[text] or [])
                        codes.update(_constants(kw.value))
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in helpers and len(node.args) > helpers[name]:
                    codes.update(_constants(node.args[helpers[name]]))
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {getattr(t, "id", None) for t in targets}
                if "action" in names and node.value is not None:
                    codes.update(_constants(node.value))
                if "audit_action" in names and node.value is not None:
                    import_actions.update(_constants(node.value))
    codes |= import_actions | {f"{a}.upload" for a in import_actions}
    return {c for c in codes if CODE.match(c)}, unknown


# Prefixes handed to a helper that writes "<prefix>.<outcome>" (expanded in DYNAMIC above), never written alone.
PREFIXES = {"lead.extension"}


def test_every_action_the_code_writes_has_a_sentence():
    codes, unknown = collected()
    codes -= PREFIXES
    assert not unknown, f"list these f-string actions in DYNAMIC: {unknown}"
    assert len(codes) > 100, "the scan found too few actions: has the code moved?"
    missing = sorted(c for c in codes if registry.audit_action(c) is None)
    assert not missing, f"audit actions without an AuditAction sentence: {missing}"


def test_every_export_kind_audits_its_download_in_a_sentence_of_its_own():
    kinds = registry.export_kinds()
    assert {kind.key for kind in kinds} >= {"customer", "lead", "opportunity", "ticket"}
    actions = [kind.download_action() for kind in kinds]
    assert len(set(actions)) == len(actions), "two kinds would be audited alike"
    missing = sorted(a for a in actions if registry.audit_action(a) is None)
    assert not missing, f"export downloads without an AuditAction sentence: {missing}"
