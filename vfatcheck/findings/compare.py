"""Findings against a baseline's: a new finding, a finding gone, a changed count. Pure: no I/O."""

from __future__ import annotations

from vfatcheck.verdicts import RunReport


def finding_differences(baseline: RunReport, current: RunReport) -> list[str]:
    """One line per finding that appeared, disappeared or changed its counts since the baseline.

    A baseline before schema 3 has no findings (nor the entry facts to compute them): nothing to
    compare, so no line."""
    if baseline.schema_version < 3:
        return []
    old = {f.id: f for f in baseline.findings}
    new = {f.id: f for f in current.findings}
    lines = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before is None and after is not None:
            lines.append(f"new finding {key}: {after.description}")
        elif after is None and before is not None:
            lines.append(f"finding gone {key}: {before.description}")
        elif before is not None and after is not None:
            counts = ("affected", "with_trait", "others_affected", "others")
            was = tuple(getattr(before, c) for c in counts)
            now = tuple(getattr(after, c) for c in counts)
            if was != now:
                change = ", ".join(
                    f"{c} {a} -> {b}" for c, a, b in zip(counts, was, now, strict=True) if a != b
                )
                lines.append(f"finding {key} changed: {change}")
    return lines
