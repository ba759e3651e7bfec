"""Seeded random cases for differential fuzzing (issue 9, item 5). Pure: the same seed, the same cases.

Each case is one of: a name drawn from one Unicode plane or a few scripts, of a length picked at the
slot edges (1..255 units, and over 255 as the `over-255`/`21-slots` defects write them); a name made
of dots and spaces in legal places; a group of near-colliding names whose 8.3 aliases differ only in
their numeric tail (and a literal 8.3 name that an alias would take); code-page edge characters (the
cp437 bytes 0x80-0xFF, characters outside it, sigma which is 0xE5 there, combining marks); or one
name with a random single defect of vfatcheck.defects; or a name of 8.3 size in one case or mixed.
Cases have no form or FAT type of their own: the campaign writes every one in every form and FAT
type (the builder skips what a form refuses; `shortonly` gets only the cases it can write).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from vfatcheck.builder import build_image
from vfatcheck.cases import BUILTIN, SCRIPTS, Case, Spec, exact, random_name
from vfatcheck.defects import DEFECTS
from vfatcheck.errors import UserInputError
from vfatcheck.names.chars import LONG_ILLEGAL, long_name_problem, utf16_len
from vfatcheck.pipeline import RUN_FORMS

EDGE_LENGTHS = (1, 2, 8, 11, 12, 13, 14, 25, 26, 27, 38, 39, 40, 194, 195, 196, 197, 253, 254, 255)
# Unicode planes with characters in them: 0 (BMP), 1 (SMP), 2 and 3 (CJK extensions), 14 (tags and
# variation selectors), 15 and 16 (private use)
PLANES: dict[int, tuple[tuple[int, int], ...]] = {
    0: ((0x00A0, 0xD7FF), (0xE000, 0xFFFD)),
    1: ((0x10000, 0x1FFFD),),
    2: ((0x20000, 0x2FFFD),),
    3: ((0x30000, 0x3134A),),
    14: ((0xE0001, 0xE01EF),),
    15: ((0xF0000, 0xFFFFD),),
    16: ((0x100000, 0x10FFFD),),
}
# cp437's upper half as Unicode, a few that it lacks, sigma (0xE5 there: the deleted marker) and
# combining marks, fullwidth and zero-width characters
CP437_HIGH = bytes(range(0x80, 0x100)).decode("cp437")
CODEPAGE_EDGES = "\u0100\u20ac\u0151\u0178\u03c3\u00e5\u0301\u0308\uff21\u200d\u00a0\u00ad\ufeff"
# the defects a built-in case writes in an image of its own (they can break a whole directory)
ISOLATED_DEFECTS = frozenset(s.defect for c in BUILTIN if c.isolated for s in c.specs if s.defect)
_RAW_NAMES: dict[str, Callable[[random.Random], str]] = {
    "trailing-dot": lambda rng: _ascii(rng, rng.randint(1, 20)) + "." * rng.randint(1, 3),
    "trailing-space": lambda rng: _ascii(rng, rng.randint(1, 20)) + " " * rng.randint(1, 3),
    "illegal-lfn-chars": lambda rng: (
        _ascii(rng, 3) + rng.choice(sorted(LONG_ILLEGAL)) + _ascii(rng, 3) + ".txt"
    ),
    "over-255": lambda rng: exact(rng.randint(256, 260), "", "Over"),
    "21-slots": lambda rng: exact(rng.randint(261, 273), "", "Slots"),
    "lone-surrogate": lambda rng: _ascii(rng, rng.randint(1, 12)) + "\ufffd" + _ascii(rng, 2) + ".txt",
}


def _ascii(rng: random.Random, length: int) -> str:
    return "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length)
    )


def _legal(name: str) -> str:
    """`name` made a valid long name: illegal characters become 'x', a trailing dot or space 'z'."""
    chars = [
        "x" if ord(ch) < 0x20 or ch in LONG_ILLEGAL or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in name
    ]
    text = "".join(chars) or "x"
    while utf16_len(text) > 255:
        text = text[:-1]
    if text.endswith((" ", ".")) or text in (".", ".."):
        text = text[:-1] + "z"
    return text if long_name_problem(text) is None else "x" + text[1:]


def _from_pools(rng: random.Random, pools: tuple[tuple[int, int], ...], units: int) -> str:
    chars: list[str] = []
    used = 0
    while used < units:
        first, last = rng.choice(pools)
        ch = chr(rng.randint(first, last))
        width = 2 if ord(ch) >= 0x10000 else 1
        if used + width > units:
            ch, width = "x", 1
        chars.append(ch)
        used += width
    return "".join(chars)


def plane_name(rng: random.Random) -> str:
    """A name of an edge length from one Unicode plane, or from a few scripts, with an extension."""
    units = rng.choice(EDGE_LENGTHS) if rng.random() < 0.7 else rng.randint(1, 255)
    if rng.random() < 0.5:
        pools = PLANES[rng.choice(sorted(PLANES))]
    else:
        pools = tuple(p for s in rng.sample(sorted(SCRIPTS), 2) for p in SCRIPTS[s])
    ext = rng.choice(("", ".txt", ".TXT", ".Jpeg", "." + _from_pools(rng, pools, 3)))
    body = _from_pools(rng, pools, max(1, units - utf16_len(ext)))
    return _legal(body + ext if utf16_len(body + ext) <= 255 else body)


def dots_and_spaces(rng: random.Random) -> str:
    """Leading, doubled and inner dots and spaces: the alias rules strip and skip them."""
    stem = _ascii(rng, rng.randint(1, 10))
    shapes = (
        f".{stem}",
        f"..{stem}",
        f" {stem}",
        f"{stem}..{_ascii(rng, 3)}",
        f"{stem}. .{_ascii(rng, 2)}",
        f"{stem} {stem}.{_ascii(rng, 4)}",
        f"{'.' * rng.randint(1, 4)}{stem}.{'x' * rng.randint(1, 4)}",
        f"{stem}.{_ascii(rng, 3)}.{_ascii(rng, 3)}",
        f"  {stem}  .  {_ascii(rng, 2)}",
    )
    return _legal(rng.choice(shapes))


def near_collisions(rng: random.Random) -> tuple[str, ...]:
    """Names in one directory whose aliases share the first six characters (and the extension), and
    sometimes the literal 8.3 name the first alias would get."""
    stem = _ascii(rng, rng.randint(6, 12)).upper()
    ext = rng.choice((".txt", ".TXT", ".tx", ".jpeg", ""))
    count = rng.choice((2, 3, 5, 9, 10, 11))
    names = [f"{stem[:6]}{_ascii(rng, rng.randint(1, 8))} {n}{ext}" for n in range(count)]
    if rng.random() < 0.4:  # first, so that the aliases written after it must step over it
        names.insert(0, f"{stem[:6]}~1{ext.upper()[:4]}")
    if rng.random() < 0.3:
        names.append(f"{stem[:6].lower()}{_ascii(rng, 3)}{ext}")
    unique: dict[str, str] = {}
    for name in map(_legal, names):
        unique.setdefault(name.upper(), name)
    return tuple(unique.values())


def short_name(rng: random.Random) -> str:
    """An 8.3-sized name: upper case, lower case (case bits), mixed, or with a cp437 letter."""
    base = _ascii(rng, rng.randint(1, 8))
    ext = _ascii(rng, rng.randint(0, 3))
    name = f"{base}.{ext}" if ext else base
    shape = rng.choice((str.upper, str.lower, str.title, lambda t: t))
    extra = rng.choice(("", "", "\u00c9", "\u00fc", "~1", "$", "-"))
    return _legal(shape(extra + name if len(base) < 8 else name))


def codepage_edge(rng: random.Random) -> str:
    """Characters at the edges of the OEM code page: cp437's upper half, characters it lacks."""
    pool = CP437_HIGH + CODEPAGE_EDGES
    body = "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))
    shape = rng.choice(("{b}", "{b}.txt", "A{b}", "{b}.{b}", "x.{b}", "{b}{b}{b}"))
    return _legal(shape.format(b=body))


def defect_case(rng: random.Random, n: int) -> Case:
    """One name with one random defect, after a plain name when the defect looks at the one before."""
    defect = rng.choice(sorted(DEFECTS))
    make = _RAW_NAMES.get(defect)
    name = make(rng) if make else _legal(random_name(rng))
    if defect in ("nul-inside", "zero-padding") and utf16_len(name) % 13 == 0:
        name = _legal(name[:-1])
    before = (Spec(f"Before {_ascii(rng, 4)}.txt"),) if rng.random() < 0.5 else ()
    reason = f"fuzz defect {defect}: {DEFECTS[defect].reason}"
    specs = (*before, Spec(name, defect=defect))
    return Case(f"fuzz-{n:04d}-{defect}", "fuzz-defect", reason, specs, defect in ISOLATED_DEFECTS)


def fuzz_cases(seed: int, count: int, defects: float = 0.25) -> tuple[Case, ...]:
    """`count` cases from `seed`; a fraction `defects` of them with a random single defect."""
    rng = random.Random(seed)
    cases = []
    for n in range(1, count + 1):
        roll = rng.random()
        if roll < defects:
            cases.append(defect_case(rng, n))
            continue
        kind = rng.choice(("plane", "plane", "dots", "collide", "codepage", "short", "random"))
        if kind == "collide":
            names = near_collisions(rng)
        else:
            make = {"plane": plane_name, "dots": dots_and_spaces, "codepage": codepage_edge}.get(
                kind, random_name
            )
            names = (make(rng),)
        as_dir = rng.random() < 0.1
        specs = tuple(Spec(name, "dir" if as_dir and len(names) == 1 else "file") for name in names)
        units = ", ".join(str(utf16_len(s.path)) for s in specs)
        cases.append(Case(f"fuzz-{n:04d}-{kind}", f"fuzz-{kind}", f"fuzz seed {seed}: {units} units", specs))
    return tuple(replace(c, dir=f"F{n:04d}", forms=_forms(c)) for n, c in enumerate(cases, start=1))


def _forms(case: Case) -> tuple[str, ...] | None:
    """Every form, but `shortonly` only for a case it can write (it refuses names that need a long
    name, nearly every fuzz name, and a refusal makes the pipeline build each case on its own)."""
    items = case.items(0)
    try:
        build_image(items, fat=12, form="shortonly")
    except UserInputError:
        return tuple(f for f in RUN_FORMS if f != "shortonly")
    return None


def names_in(cases: tuple[Case, ...]) -> int:
    return sum(len(c.specs) for c in cases)
