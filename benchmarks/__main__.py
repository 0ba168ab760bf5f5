"""Run the benchmarks: `python -m benchmarks [name ...]` (default: all of them, in name order).

Each `benchmarks/bench_<name>.py` has a `main()` that prints its results as markdown and writes its
section of docs/benchmarks.md. Benchmarks compare ratios measured in one run: these machines are noisy.
"""

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    folder = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_"))
    wanted = [f"bench_{name.removeprefix('bench_')}" for name in argv] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        sys.argv = [str(folder / f"{name}.py")]  # each benchmark parses its own options: use the defaults
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"({name} took {time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
