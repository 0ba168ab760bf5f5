"""Entry point: ``python -m graph_emulator``."""

from graph_emulator.cli import main

raise SystemExit(main())
