"""Imports live at module level; an import inside a function is allowed only where an import cycle forces it,
and then a `# local: <which cycle>` comment on the same or the previous line says so."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = [ROOT / "graph_emulator", ROOT / "benchmarks"]


def unexplained_local_imports(source: str) -> list[int]:
    """Line numbers of imports inside a function body with no `# local:` comment on that line or the one before."""
    comments = {tok.start[0]: tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    bad = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lines = range(node.lineno - 1, (node.end_lineno or node.lineno) + 1)
                if not any(comments.get(n, "").startswith("# local:") for n in lines):
                    bad.append(node.lineno)
    return sorted(set(bad))


def test_checker_flags_an_unexplained_local_import_and_accepts_an_explained_one():
    src = ("import os\n\n\ndef f():\n    import json\n    return json\n\n\n"
           "def g():\n    # local: a imports b\n    from a import b\n    return b\n\n\n"
           "class C:\n    def m(self):\n        from x import (y,  # local: x imports this module\n            z)\n"
           "        def inner():\n            import re  # a comment that does not say why\n            return re\n")
    assert unexplained_local_imports(src) == [5, 20]


def test_no_function_level_import_without_its_reason():
    offenders = []
    for folder in CHECKED:
        for path in sorted(folder.rglob("*.py")):
            if "tests" in path.relative_to(folder).parts:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}"
                          for line in unexplained_local_imports(path.read_text(encoding="utf-8"))]
    assert not offenders, ("imports inside functions with no '# local: <cycle>' comment (move them to module "
                           "level, or say which import cycle forces them): " + ", ".join(offenders))
