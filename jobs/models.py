"""Models of the jobs app (backup jobs and sessions arrive with the directory backup)."""
