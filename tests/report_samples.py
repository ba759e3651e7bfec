"""Run reports for the report tests: realistic parsers, forms, FAT types, every verdict at least once,
non-ASCII and hostile names. Versions are those seen on the development machine (Debian 12):
mtools 4.0.32, 7-Zip 26.02, pyfatfs 1.1.0, dissect.fat 3.13.
"""

from __future__ import annotations

import functools
import random
import unicodedata

from vfatcheck import cases, pipeline
from vfatcheck.verdicts import CaseInfo, ImageWarning, ParserInfo, RunReport, Verdict

SCRIPT_NAME = "<script>document.documentElement.dataset.pwned='1'</script>.txt"
IMG_NAME = '<img src=x onerror="document.documentElement.dataset.pwned=1">.txt'
ANSI_NAME = "\x1b[31mred\x1b[0m.txt"
BIDI_NAME = "invoice\u202etxt.exe"
CJK_NAME = "日本語のファイル名.txt"

CASES = (
    CaseInfo("ascii-long", "basic", "a long ASCII name"),
    CaseInfo("mixed-case", "basic", "case must survive"),
    CaseInfo("umlaut", "unicode", "Latin-1 letters"),
    CaseInfo("cjk-wide", "unicode", "east-asian wide characters"),
    CaseInfo("tilde-dummy", "nodual", "dummy short name with ~"),
    CaseInfo("hostile-script", "hostile", "HTML in a name"),
    CaseInfo("hostile-ansi", "hostile", "terminal escapes and bidi override"),
    CaseInfo("bad-checksum", "negative", "LFN checksum mismatch"),
)
PATHS = {
    "ascii-long": "A rather long file name.txt",
    "mixed-case": "MixedCase.Txt",
    "umlaut": "Ünïcödé file.txt",
    "cjk-wide": f"日本/{CJK_NAME}",
    "tilde-dummy": "tilde~name.txt",
    "hostile-script": SCRIPT_NAME,
    "hostile-ansi": ANSI_NAME,
    "bad-checksum": "checksum.txt",
}
PARSERS = (
    ParserInfo("reference", "0.1.0", True, seconds=0.41),
    ParserInfo("pyfatfs", "1.1.0", True, seconds=3.2),
    ParserInfo("dissect.fat", "3.13", True, seconds=1.05),
    ParserInfo("mtools", "4.0.32", True, seconds=7.75),
    ParserInfo("7zip", "26.02", True, seconds=2.5),
    ParserInfo("grub", "", False, hint="apt-get install grub-common"),
    ParserInfo("fatfs", "", False, hint="pip install fatfs-ng"),
)
FORMS = ("standard", "nodual")
FATS = (12, 16, 32)

# (case, parser, form, fat or None for every FAT) -> (verdict, seen, detail)
SPECIAL: dict[tuple[str, str, str, int | None], tuple[str, str, str]] = {
    ("bad-checksum", "7zip", "standard", 32): ("parser-crash", "", "7zz exited with -11 (SIGSEGV)"),
    ("hostile-ansi", "pyfatfs", "nodual", 12): ("timeout", "", "no answer after 30 s"),
    ("tilde-dummy", "pyfatfs", "nodual", None): ("parser-error", "", "PyFATException: invalid short name"),
    ("bad-checksum", "mtools", "standard", None): ("missing", "", "not listed"),
    ("umlaut", "7zip", "nodual", 16): ("misattached", "Ünïcödé file.txt", "name on the next entry"),
    ("cjk-wide", "mtools", "nodual", None): ("unreachable", CJK_NAME, "mcopy: file not found"),
    ("ascii-long", "pyfatfs", "standard", 32): (
        "content-differs",
        "A rather long file name.txt",
        "sha256 differs",
    ),
    ("cjk-wide", "pyfatfs", "standard", None): ("mangled", "______~1.TXT", "long name dropped"),
    ("hostile-script", "reference", "nodual", 16): ("fsck-would-modify", SCRIPT_NAME, "fsck.fat -n: rename"),
    ("bad-checksum", "reference", "standard", 12): ("extra", IMG_NAME, "an entry never written"),
    ("mixed-case", "7zip", "standard", None): ("case-changed", "mixedcase.txt", ""),
    ("umlaut", "dissect.fat", "standard", 12): (
        "mangled",
        unicodedata.normalize("NFD", "Ünïcödé file.txt"),
        "NFD, not NFC",
    ),
    ("hostile-script", "7zip", "nodual", None): ("mangled", IMG_NAME, BIDI_NAME),
    ("bad-checksum", "dissect.fat", "standard", 16): ("lenient", "checksum.txt", "malformed, its own"),
    ("cjk-wide", "mtools", "standard", 16): ("unspellable", "______~1.TXT", "outside code page 437"),
    ("ascii-long", "reference", "standard", 16): (
        "fsck-would-restore",
        "A rather long file name.txt",
        "back",
    ),
}
WARNING = ImageWarning(
    "fat16-nodual", "nodual", 16, "7zip", "26.02", "warning", "7zip-headers-error", "Headers Error",
    "7zz l -slt -tFAT -sccUTF-8 -- fat16-nodual.img",
)  # fmt: skip


def _row(case: str, parser: ParserInfo, form: str, fat: int) -> Verdict:
    path = PATHS[case]
    name = CJK_NAME if case == "cjk-wide" else path
    verdict, seen, detail = "ok", name, ""
    special = SPECIAL.get((case, parser.name, form, fat)) or SPECIAL.get((case, parser.name, form, None))
    if special:
        verdict, seen, detail = special
    elif form == "nodual" and parser.name == "mtools":
        verdict, seen, detail = "cosmetic", name, "short name shown as '\x01~X3 TXT'"
    elif not parser.available:
        verdict, seen, detail = "unavailable", "", parser.hint
    return Verdict(
        case=case,
        path=path,
        form=form,
        fat=fat,
        parser=parser.name,
        parser_version=parser.version,
        verdict=verdict,
        expected=name,
        seen=seen,
        detail=detail,
        short_hex="0141424358312020545854" if form == "nodual" else "4c4f4e4746497e31545854",
        command=""
        if verdict in ("ok", "unavailable")
        else f"{parser.name}-tool fat{fat}-{form}.img '{seen}'",
    )


def sample_report() -> RunReport:
    # grub has "unavailable" rows; fatfs, also unavailable, has none at all: both shapes occur.
    results = tuple(
        _row(case.id, parser, form, fat)
        for case in CASES
        for parser in PARSERS
        if parser.name != "fatfs"
        for form in FORMS
        for fat in FATS
    )
    return RunReport(
        vfatcheck_version="0.1.0",
        seed=7,
        forms=FORMS,
        fats=FATS,
        parsers=PARSERS,
        cases=CASES,
        results=results,
        meta={"host": "ci <b>runner</b>"},
        warnings=(WARNING,),
    )


def big_report(cases: int = 60, seed: int = 1) -> RunReport:
    """The size of the default run: ~60 cases, 10 parsers, 2 forms, 3 FAT types, mostly ok."""
    rng = random.Random(seed)
    names = ("reference", "pyfatfs", "dissect.fat", "fatfs", "mtools", "fsck.fat", "7zip", "sleuthkit")
    parsers = tuple(
        ParserInfo(n, "1.0", True, seconds=rng.random() * 10) for n in (*names, "grub", "fattools")
    )
    case_infos = tuple(CaseInfo(f"case-{n:02d}", f"group-{n // 10}", "") for n in range(cases))
    verdicts = ("ok",) * 20 + ("cosmetic", "mangled", "missing", "case-changed")
    results = tuple(
        Verdict(c.id, f"dir/name {c.id}.txt", form, fat, p.name, p.version, rng.choice(verdicts), "x", "y")
        for c in case_infos
        for p in parsers
        for form in FORMS
        for fat in FATS
    )
    return RunReport("0.1.0", seed, FORMS, FATS, parsers, case_infos, results)


@functools.cache
def run_report() -> RunReport:
    """A real run with findings: the reference reader and pyfatfs (a core dependency) on a few cases in
    three forms (pyfatfs 1.1.0 cannot open names whose lower case lives in the NT case bits)."""
    chosen = cases.select(
        "builtin",
        count=50,
        seed=0,
        only=["c01-long-file-name", "c02-lower-83", "c03-case-bits", "c41-dummy-lead-05", "case-nested-dirs"],
    )
    config = pipeline.RunConfig(
        chosen, ("standard", "standard-windows", "nodual"), (12, 16), ("reference", "pyfatfs")
    )
    return pipeline.run(config)
