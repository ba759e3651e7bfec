"""DOS date and time fields (2-second resolution, years 1980-2107). No clock is ever read here."""

from __future__ import annotations

from dataclasses import dataclass

EPOCH_YEAR = 1980


@dataclass(frozen=True)
class DosTimestamp:
    year: int = 1980
    month: int = 1
    day: int = 1
    hour: int = 0
    minute: int = 0
    second: int = 0

    @property
    def date(self) -> int:
        return ((self.year - EPOCH_YEAR) << 9) | (self.month << 5) | self.day

    @property
    def time(self) -> int:
        return (self.hour << 11) | (self.minute << 5) | (self.second // 2)

    @property
    def tenths(self) -> int:
        """DIR_CrtTimeTenth: the odd second, in 10 ms units (0..199)."""
        return (self.second % 2) * 100

    @classmethod
    def decode(cls, date: int, time: int, tenths: int = 0) -> DosTimestamp:
        return cls(
            EPOCH_YEAR + (date >> 9),
            (date >> 5) & 0x0F,
            date & 0x1F,
            time >> 11,
            (time >> 5) & 0x3F,
            (time & 0x1F) * 2 + tenths // 100,
        )


# The fixed default of every image: reproducible, and distinct from all-zero fields.
DEFAULT_TIMESTAMP = DosTimestamp(2009, 7, 21, 12, 0, 0)
