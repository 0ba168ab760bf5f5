"""Microsoft Graph + Microsoft identity platform emulator for entrabackup tests, demo and benchmarks.

Standalone: no Django, no project imports. Start with ``python -m graph_emulator serve --state-dir DIR``.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
