"""The seen side of a comparison: a back-end's entries in vfatcheck's spelling, by directory, each
claimed by at most one expected entry. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import replace

from vfatcheck.model import SeenEntry
from vfatcheck.spelling import spell_text

LISTED_PATH = "listed-path"  # the path as the back-end gave it, on an entry compare had to respell


_NOT_AN_ESCAPE = re.compile(r"\\(?!x[0-9a-f]{2}|ud[89a-f][0-9a-f]{2})")


def respelled(text: str) -> str:
    """Spelling for a name a back-end handed over unspelled: lone surrogate code points as `\\uXXXX`,
    a backslash that starts no escape as `\\x5c` (vfatcheck.spelling)."""
    text = "".join(spell_text(ch) if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return _NOT_AN_ESCAPE.sub(r"\\x5c", text)


def cleaned(seen: SeenEntry) -> SeenEntry:
    """The entry in vfatcheck's spelling, in case its back-end does not follow it: a `/` inside the
    name too becomes `\\x2f`, so that the path's last component is the name."""
    name = respelled(seen.name).replace("/", "\\x2f")
    parent = respelled(seen_parent(seen))
    path = f"{parent}/{name}" if parent else name
    if path == seen.path:
        return seen
    return replace(seen, name=name, path=path, extra={**seen.extra, LISTED_PATH: seen.path})


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    return text.casefold()


def same(text: str) -> str:
    return text


Key = Callable[[str], str]


def seen_parent(seen: SeenEntry) -> str:
    """The directory part of a seen path; a name may itself hold '/' (a dummy 8.3 name shown raw)."""
    if seen.path == seen.name:
        return ""
    if seen.path.endswith("/" + seen.name):
        return seen.path[: -len(seen.name) - 1]
    return seen.path.rpartition("/")[0]


class Matcher:
    """Pairs expected entries with seen ones, directory by directory, parents first."""

    def __init__(self, seen: Sequence[SeenEntry]) -> None:
        self.seen = [cleaned(s) for s in seen if s.name not in (".", "..")]
        self.claimed: set[int] = set()
        self.children: dict[str, list[int]] = {}
        for index, entry in enumerate(self.seen):
            self.children.setdefault(seen_parent(entry), []).append(index)
        # (directory, a name test's key or a label) -> key of an entry -> the directory's entries with it
        self._indexes: dict[tuple[str, Hashable], dict[Hashable, list[int]]] = {}

    def free(self, directory: str) -> list[int]:
        return [i for i in self.children.get(directory, []) if i not in self.claimed]

    def take(self, directory: str, test: Callable[[SeenEntry], bool]) -> SeenEntry | None:
        for index in self.free(directory):
            if test(self.seen[index]):
                self.claimed.add(index)
                return self.seen[index]
        return None

    def take_named(self, directory: str, key: Key, accepted: Collection[str]) -> SeenEntry | None:
        """`take` with the test `key(name) in accepted`, through an index of the directory by `key`:
        the same entry, without a pass over every sibling (a hostile directory holds 65,536)."""
        index = self._index(directory, key, lambda s: key(s.name))
        tops = [top for name in accepted if (top := self._first_free(index.get(name))) is not None]
        return self._claim(min(tops)) if tops else None

    def take_by(
        self, directory: str, label: str, key: Callable[[SeenEntry], Hashable], value: Hashable
    ) -> SeenEntry | None:
        """`take` with the test `key(entry) == value`, through an index of the directory by `key`, built
        at the first call with `label` (one label, one key function)."""
        top = self._first_free(self._index(directory, label, key).get(value))
        return self._claim(top) if top is not None else None

    def _index(
        self, directory: str, label: Hashable, key: Callable[[SeenEntry], Hashable]
    ) -> dict[Hashable, list[int]]:
        """The directory's entries by `key`, each list last first; built once per (directory, label)."""
        index = self._indexes.get((directory, label))
        if index is None:
            index = {}
            for i in reversed(self.children.get(directory, [])):
                index.setdefault(key(self.seen[i]), []).append(i)
            self._indexes[(directory, label)] = index
        return index

    def _first_free(self, stack: list[int] | None) -> int | None:
        while stack and stack[-1] in self.claimed:
            stack.pop()
        return stack[-1] if stack else None

    def _claim(self, index: int) -> SeenEntry:
        self.claimed.add(index)
        return self.seen[index]

    def leftovers(self) -> list[SeenEntry]:
        return [s for i, s in enumerate(self.seen) if i not in self.claimed]
