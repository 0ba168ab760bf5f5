"""Models of the restore app (none yet)."""
