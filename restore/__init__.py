"""Browse, compare and restore directory objects; explore and export logs."""
