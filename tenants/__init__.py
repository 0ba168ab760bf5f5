"""Registered Entra ID tenants, their credentials and connection checks."""
