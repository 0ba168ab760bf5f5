"""entrabackup: self-hosted backup and recovery for Microsoft Entra ID."""

__version__ = "0.1.0"
