"""`.env.example` documents every environment variable the project reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r"""env_(?:str|bool|int|float|list)\(\s*["']([A-Z0-9_]+)["']""")


def test_every_variable_read_by_the_settings_is_documented():
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    read = set()
    for path in ROOT.glob("entrabackup/*.py"):
        read |= set(READ.findall(path.read_text()))
    assert read, "the settings read no variable? the pattern is broken"
    assert read - documented == set()


def test_security_and_lockout_variables_are_explained_in_the_operations_guide():
    read = set(READ.findall((ROOT / "entrabackup" / "settings.py").read_text()))
    security = {name for name in read if name.startswith(
        ("DJANGO_SECURE_", "DJANGO_SESSION_", "ENTRABACKUP_LOGIN_", "ENTRABACKUP_REVERSE_PROXY"))}
    assert len(security) >= 10
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert {name for name in security if f"`{name}`" not in guide} == set()
