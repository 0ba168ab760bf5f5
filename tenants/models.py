"""Models of the tenants app (none yet)."""
