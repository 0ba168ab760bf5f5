"""What every benchmark reports the same way: the machine it ran on, and its section of docs/benchmarks.md."""

import os
import platform
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine(*extra: str) -> str:
    """`nproc`, the CPU model, Python and the OS, then whatever versions the caller adds."""
    model = "unknown CPU"
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    parts = [f"`nproc` = {os.cpu_count()} ({model})", f"Python {platform.python_version()}", *extra,
             f"{platform.system()} {platform.release()}"]
    return ", ".join(parts)


def write_section(heading: str, body: str) -> None:
    """Add or replace the section `heading` ("## ...") of docs/benchmarks.md, leaving the others alone.

    The file is read right before writing: other benchmarks write their own sections.
    """
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    section = f"{heading}\n\n{body.rstrip()}\n"
    start = current.find(heading)
    if start >= 0:
        following = re.search(r"^## ", current[start + len(heading):], flags=re.MULTILINE)
        rest = current[start + len(heading) + following.start():] if following else ""
        current = current[:start] + section + ("\n" + rest if rest else "")
    else:
        current = current.rstrip("\n") + "\n\n" + section
    DOCS.write_text(current)
    print(f"updated {DOCS}")
