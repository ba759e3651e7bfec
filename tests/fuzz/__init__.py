"""The fuzz harness (harness.py), its mutations (mutate.py), seeds (seeds.py) and targets (targets.py)."""
