"""What a scan has done so far, the limits it keeps, and the deadline it answers to.

The counters let callers (tests, the fuzz harness, `vfatcheck scan`) check that the work stays
proportional to the image; the deadline turns a read that takes too long into ReadTimeout at the
next checkpoint (once per directory, per 64 Ki clusters walked, per 4 MiB hashed, ...).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vfatcheck.errors import VfatcheckError

# Characters of all listed paths together: the image's size plus this much. A deep tree of long names
# over a big directory would otherwise cost depth x name length x entries (docs/reader.md).
PATH_SLACK = 1 << 20
# Content bytes hashed: twice the image plus this much. Only chains that share clusters with other
# chains (cross-links) are hashed more than once; they stop being hashed past this budget.
HASH_SLACK = 16 << 20
CHECK_EVERY_CLUSTERS = 1 << 16
CHECK_EVERY_BYTES = 4 << 20


class ReadTimeout(VfatcheckError):
    """The read went past its deadline."""


@dataclass
class Work:
    image_size: int
    deadline: float | None = None  # a time.monotonic() value
    clusters: int = 0  # FAT entries followed while scanning (each cluster at most once)
    records: int = 0  # directory records parsed (each directory cluster at most once)
    path_chars: int = 0  # characters of the paths listed
    hashed: int = 0  # content bytes hashed
    indexed: int = 0  # names put into directory indexes, and path components looked up
    checks: int = field(default=0, repr=False)
    _clusters_checked: int = field(default=0, repr=False)
    _hashed_checked: int = field(default=0, repr=False)

    @property
    def path_budget(self) -> int:
        return self.image_size + PATH_SLACK

    @property
    def hash_budget(self) -> int:
        return 2 * self.image_size + HASH_SLACK

    def walked(self, clusters: int) -> None:
        """Count clusters followed; check the deadline every CHECK_EVERY_CLUSTERS of them in all."""
        self.clusters += clusters
        if self.clusters - self._clusters_checked >= CHECK_EVERY_CLUSTERS:
            self._clusters_checked = self.clusters
            self.check()

    def hashing(self, size: int) -> None:
        """Count bytes hashed; check the deadline every CHECK_EVERY_BYTES of them in all."""
        self.hashed += size
        if self.hashed - self._hashed_checked >= CHECK_EVERY_BYTES:
            self._hashed_checked = self.hashed
            self.check()

    def check(self) -> None:
        """Raise ReadTimeout if the deadline has passed."""
        self.checks += 1
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ReadTimeout("the reference reader ran past its time limit")
