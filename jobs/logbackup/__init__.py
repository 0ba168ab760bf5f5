"""Audit and sign-in log backup: the cache repository, the log types, reading Graph and the session runner."""
