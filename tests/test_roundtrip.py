"""Every form x FAT type written by the builder reads back through the reference reader unchanged:
the same paths, kinds, long names, raw short bytes, NT bytes and contents, and no anomaly."""

from __future__ import annotations

import pytest

from vfatcheck.builder import build_image
from vfatcheck.model import FAT_TYPES, FORMS, digest
from vfatcheck.namesfile import parse_names
from vfatcheck.reader import scan

LONG_NAMES = """\
Long File Name.txt
mixed case/ReadMe.txt
ABCDEFGHIJKLM
Exactly twenty-six chars.x
Smiley 😀.txt
Ünïcödé naïve café.txt
日本語のファイル名.txt
Photos 2009/Holiday in Canberra, day 1.jpg
Photos 2009/Second day; the beach [1].jpg
Photos 2009/nested dir/deeper still/file.with.many.dots.tar.gz
longfilename1.txt
longfilename2.txt
longfilename3.txt
longfilename4.txt
longfilename5.txt
longfilename6.txt
longfilename7.txt
longfilename8.txt
longfilename9.txt
longfilename10.txt
longfilename11.txt
empty long directory/
"""
SHORT_NAMES = """\
readme.txt
README2.TXT
upper/lower.TXT
upper/MIXED.txt
DIR/SUB/FILE.BIN
empty/
"""


def names_for(form: str) -> bytes:
    return (SHORT_NAMES if form == "shortonly" else LONG_NAMES + SHORT_NAMES).encode()


@pytest.mark.parametrize("fat", FAT_TYPES)
@pytest.mark.parametrize("form", FORMS)
def test_reference_reader_reads_back_what_the_builder_wrote(form: str, fat: int) -> None:
    items = parse_names(names_for(form), seed=7)
    built = build_image(items, fat=fat, form=form, seed=7)
    volume = scan(built.data)
    assert volume.fat_type == fat
    assert volume.anomalies == ()
    seen = {e.path.rstrip("/"): e for e in volume.entries}
    assert set(seen) == {m.path for m in built.manifest.entries}
    contents = {i.path: i.content for i in items}
    for m in built.manifest.entries:
        e = seen[m.path]
        assert (e.kind, e.short_raw.hex(), e.nt_byte, e.lfn_slots) == (
            m.kind,
            m.short_hex,
            m.nt_byte,
            m.lfn_slots,
        )
        assert e.name == m.long_name
        assert e.form == (form if m.lfn_slots else "shortonly"), m.path
        if m.kind == "file":
            data = volume.read_file(e)
            assert digest(data) == m.sha256 and len(data) == m.size
            if m.path in contents:
                assert data == contents[m.path]
        assert volume.find(m.path) == e
