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
