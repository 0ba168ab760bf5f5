"""Models of the repositories app (none yet)."""
