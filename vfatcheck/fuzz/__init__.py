"""Differential fuzzing (issue 9, item 5): seeded random names and single defects through the parsers,
reporting only what no existing finding explains."""
