"""The project package is plumbing: nothing in it imports the apps built on top of it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
APPS = {"accounts", "tenants", "repositories", "jobs", "restore", "dashboard"}


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):  # walk: imports inside functions count too
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def _upward_imports(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if "tests" in relative.parts:  # tests may build tenants to exercise the plumbing
            continue
        for module in _imported_modules(ast.parse(path.read_text(), filename=str(path))):
            if module.split(".")[0] in APPS:
                found.append(f"entrabackup/{relative}: {module}")
    return found


def test_project_package_imports_no_app():
    assert _upward_imports() == []


def test_the_walk_sees_an_upward_import(tmp_path):
    # The walker itself can fail: a module importing `jobs` is reported.
    (tmp_path / "bad.py").write_text("def f():\n    from jobs.models import BackupJob\n")
    assert _upward_imports(tmp_path) == ["entrabackup/bad.py: jobs.models"]
