"""Backup and log-backup jobs, schedules, sessions and backup proxies."""
