"""Entra ID backup repositories, log backup repositories and cache repositories."""
