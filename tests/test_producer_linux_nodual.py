"""The patched kernels as writers (producers linux-nodual and linux-shortonly): the July 2009 rule check
and the structural comparison on builder images (always), the case-by-case skipping of a producer
(with a stand-in producer), then live: images written by vfatcheck's Linux 6.1.192 with the
no-dual-names patch (vm/kernels.py), and by the 8.3-only build, against the builder's."""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from tests import harness
from vfatcheck import cli, pipeline, producers
from vfatcheck.builder import build_image
from vfatcheck.cases import BUILTIN, case_dir
from vfatcheck.layout.direntry import FAT_NO_83NAME
from vfatcheck.model import FAT_TYPES, Item
from vfatcheck.names.forms import NeedsLongName, name_records
from vfatcheck.producers import check
from vfatcheck.producers.linux import PRODUCERS, KernelProducer, ProducerFailed, Written
from vfatcheck.reader import scan
from vfatcheck.rng import SeededRandom32
from vfatcheck.verdicts import RunReport
from vfatcheck.vm import uml

CORPUS = [item for c in BUILTIN if c.group != "defect" for item in c.items(0, prefix=case_dir(c))]
SMALL = [
    Item("Long File Name.txt", content=b"hello"),
    Item("readme.txt", content=b"x"),
    Item("Some Directory/inner file.dat", content=b"y" * 600),
    Item("Some Directory/UPPER.TXT", content=b"z"),
]
NODUAL, SHORTONLY = PRODUCERS["linux-nodual"], PRODUCERS["linux-shortonly"]
live_nodual = harness.live(
    NODUAL.available().ok, reason=f"needs the patched kernel: {NODUAL.available().hint}"
)
live_shortonly = harness.live(SHORTONLY.available().ok, reason="needs the patched 8.3-only kernel")


def _short_entry_offset(data: bytes, path: str) -> int:
    entry = next(e for e in scan(data).entries if e.path == path)
    return data.index(entry.short_raw + bytes([entry.attr, entry.nt_byte]))


def test_the_builder_s_nodual_images_follow_the_july_2009_rules() -> None:
    for fat in FAT_TYPES:
        assert check.july2009_problems(build_image(CORPUS, fat=fat, form="nodual").data, CORPUS) == []


def test_a_standard_image_breaks_them_in_every_long_named_entry() -> None:
    problems = check.july2009_problems(build_image(SMALL, fat=16, form="standard").data, SMALL)
    assert any(p.startswith("Long File Name.txt: ") and "NT byte 0x00" in p for p in problems)
    assert any(p.startswith("Some Directory: ") and "'~'" not in p and "NT byte" in p for p in problems)
    # shortname=mixed gives readme.txt a long name; the patch would store it bare with case bits
    assert any(p.startswith("readme.txt: a single-case 8.3 name stored as") for p in problems)
    assert not any(p.startswith("Some Directory/UPPER.TXT") for p in problems)


def test_each_rule_is_named_when_one_entry_breaks_it() -> None:
    data = bytearray(build_image(SMALL, fat=16, form="nodual").data)
    at = _short_entry_offset(bytes(data), "Long File Name.txt")
    data[at + 12] = 0x21  # the NT byte: Windows' EFS bit beside 0x20
    data[at + 8 : at + 11] = b"DAT"  # the extension: not the alias's, and the checksum no longer fits
    problems = check.july2009_problems(bytes(data), SMALL)
    assert "Long File Name.txt: not on the image under this name" in problems
    assert any(p.startswith("reference reader: lfn-checksum-mismatch") for p in problems)
    data = bytearray(build_image(SMALL, fat=16, form="nodual").data)
    data[at + 12] = 0x21
    assert [p for p in check.july2009_problems(bytes(data), SMALL) if not p.startswith("reference")] == [
        "Long File Name.txt: NT byte 0x21, not exactly 0x20"
    ]


def test_two_nodual_images_of_one_corpus_differ_only_in_dummies_and_their_checksums() -> None:
    for fat in FAT_TYPES:
        first = build_image(CORPUS, fat=fat, form="nodual", seed=0).data
        other = build_image(CORPUS, fat=fat, form="nodual", seed=1).data
        # another seed is another volume id too: put the first one's in, the kernel gets it from mkfs
        found = check.structure(first, _with_volume_id(other, first, fat), "nodual")
        assert found.unexplained == [] and set(found.explained) == {"dummy bytes", "checksums"}


def _with_volume_id(data: bytes, like: bytes, fat: int) -> bytes:
    at = 67 if fat == 32 else 39
    out = bytearray(data)
    out[at : at + 4] = like[at : at + 4]
    if fat == 32:
        out[6 * 512 + at : 6 * 512 + at + 4] = like[6 * 512 + at : 6 * 512 + at + 4]
    return bytes(out)


def test_a_standard_image_is_not_explained_by_the_nodual_form() -> None:
    nodual = build_image(SMALL, fat=16, form="nodual").data
    standard = build_image(SMALL, fat=16, form="standard").data
    fields = Counter(d.field for d in check.structure(standard, nodual, "nodual").unexplained)
    assert fields["DIR_Name"] >= 2 and fields["DIR_NTRes"] >= 2  # aliases, and NT 0x00 against 0x20


def test_the_manifest_of_an_image_is_its_corpus_with_the_written_short_entries() -> None:
    built = build_image(SMALL, fat=12, form="nodual", seed=0)
    other = build_image(SMALL, fat=12, form="nodual", seed=5)
    manifest = check.manifest_of(other.data, built.manifest)
    assert [e.path for e in manifest.entries] == [e.path for e in built.manifest.entries]
    assert manifest.entries == other.manifest.entries  # the seed-5 dummies, read back from its image
    with pytest.raises(ValueError, match=r"readme\.txt: not on the image"):
        check.manifest_of(build_image(SMALL[:1], fat=12, form="nodual").data, built.manifest)


@dataclass(frozen=True)
class _Refusing(KernelProducer):
    """A stand-in kernel: the builder writes what it accepts, and it refuses `refuse` with ENAMETOOLONG."""

    refuse: tuple[str, ...] = ()
    fail: str = ""  # a machine that dies while writing: ProducerFailed with these words

    def version(self) -> str:
        return "stand-in 1.0"

    def write(self, items: Sequence[Item], fat: int, seed: int = 0, timeout: float = 0) -> Written:
        if self.fail:
            raise ProducerFailed(self.fail)
        kept = [i for i in items if i.path not in self.refuse]
        refused = tuple((i.path, errno.ENAMETOOLONG) for i in items if i.path in self.refuse)
        return Written(build_image(kept, fat=fat, form=self.form, seed=seed).data, refused, ())


def test_a_case_the_kernel_refuses_or_cannot_write_is_skipped_with_why() -> None:
    per_case = [
        ("plain", [Item("A/Long name one.txt", content=b"1")]),
        ("refused", [Item("B/Long name two.txt", content=b"2")]),
        ("defect", [Item("C/x.txt", content=b"3", defect="efs-nt21")]),
    ]
    producer = _Refusing("stand-in", "nodual", uml.DEFAULT_KERNEL, refuse=("B/Long name two.txt",))
    built, skipped = producers.produce_cases(producer, per_case, 16, 0)
    assert [e.path for e in built.manifest.entries] == ["A", "A/Long name one.txt"]
    assert dict(skipped) == {
        "defect": "stand-in writes no deliberate defects",
        "refused": "the kernel refused B/Long name two.txt: ENAMETOOLONG (File name too long)",
    }


def test_a_producer_that_fails_costs_its_image_not_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    dying = _Refusing("stand-in", "nodual", uml.DEFAULT_KERNEL, fail="the guest did not finish writing")
    refusing = _Refusing("refusing", "nodual", uml.DEFAULT_KERNEL, refuse=("C001/Long File Name.txt",))
    monkeypatch.setitem(producers.PRODUCERS, "stand-in", dying)
    monkeypatch.setitem(producers.PRODUCERS, "refusing", refusing)
    cases = tuple(c for c in BUILTIN if c.id in ("c01-long-file-name", "c02-lower-83"))
    config = pipeline.RunConfig(cases=cases, forms=("nodual",), fats=(16,), parsers=("reference",))
    report = pipeline.run(replace(config, producer="stand-in"))
    assert report.results == () and report.meta["producer"] == "stand-in (stand-in 1.0)"
    assert (
        "c01-long-file-name: stand-in wrote no image: the guest did not finish writing"
        in report.meta["skipped"]
    )
    report = pipeline.run(replace(config, producer="refusing"))
    assert {r.case for r in report.results} == {"c02-lower-83"}
    assert {r.verdict for r in report.results} == {"ok"}


@live_nodual
@pytest.mark.parametrize("fat", FAT_TYPES)
def test_the_patched_kernel_writes_the_july_2009_form_as_the_builder_does(fat: int) -> None:
    written = NODUAL.write(CORPUS, fat)
    assert written.refused == ()
    assert check.july2009_problems(written.data, CORPUS) == []
    builder = build_image(CORPUS, fat=fat, form="nodual").data
    found = check.structure(written.data, builder, "nodual")
    assert found.unexplained == []
    # the guest's clock is the builder's and both allocate as Linux does: only the random bytes differ
    assert set(found.explained) <= {"dummy bytes", "checksums", "formatter"}
    assert sum("not creating 8.3 short filenames" in line for line in written.kernel_log) == 1


@live_nodual
def test_the_patched_kernel_flags_every_long_name_and_no_8_3_name() -> None:
    entries = scan(NODUAL.write(SMALL, 16).data).entries
    flagged = {e.path for e in entries if e.nt_byte == FAT_NO_83NAME}
    assert flagged == {"Long File Name.txt", "Some Directory", "Some Directory/inner file.dat"}
    assert {e.path: e.nt_byte for e in entries if e.lfn_slots == 0} == {
        "readme.txt": 0x18, "Some Directory/UPPER.TXT": 0x00,
    }  # fmt: skip


def _builder_refuses(name: str) -> bool:
    try:
        name_records(name, form="shortonly", taken=set(), rng=SeededRandom32(0), is_dir=False)
    except NeedsLongName:
        return True
    return False


@live_shortonly
def test_the_8_3_only_kernel_refuses_what_the_builder_s_shortonly_form_refuses() -> None:
    names = ["README.TXT", "lower.txt", "Long File Name.txt", "LONGER_NAME.TXT", "a+b.txt", "MixCase.Txt"]
    written = SHORTONLY.write([Item(n, content=b"x") for n in names], 16)
    refused = {path: err for path, err in written.refused}
    too_long = errno.ENAMETOOLONG
    assert refused == {"Long File Name.txt": too_long, "LONGER_NAME.TXT": too_long, "a+b.txt": errno.EINVAL}
    # the builder refuses the mixed-case name too; the kernel stores it upper case, without a long name
    assert {n for n in names if _builder_refuses(n)} == {*refused, "MixCase.Txt"}
    shown = {e.path: (e.short_raw, e.nt_byte, e.lfn_slots) for e in scan(written.data).entries}
    assert shown == {
        "README.TXT": (b"README  TXT", 0, 0), "lower.txt": (b"LOWER   TXT", 0x18, 0),
        "MIXCASE.TXT": (b"MIXCASE TXT", 0, 0),
    }  # fmt: skip


def test_a_kernel_producer_writes_its_own_form_only(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--producer", "linux-nodual", "--forms", "standard", "--parsers", "reference", "--quiet"]
    assert cli.main(args) == 2
    assert "--producer linux-nodual writes the nodual form only, not standard" in capsys.readouterr().err


@live_nodual
def test_run_reads_the_images_the_patched_kernel_wrote() -> None:
    written = ("c01-long-file-name", "c02-lower-83", "c51-alias-collisions")
    config = pipeline.RunConfig(
        cases=tuple(c for c in BUILTIN if c.id in (*written, "c41-dummy-lead-05")), forms=("nodual",),
        fats=(16,), parsers=("reference", "linux-nodual"), producer="linux-nodual",
    )  # fmt: skip
    report = pipeline.run(config)
    assert report.meta["producer"] == "linux-nodual (6.1.192-nodual)"
    assert "c41-dummy-lead-05: linux-nodual writes no deliberate defects" in report.meta["skipped"]
    builder = pipeline.run(
        replace(config, cases=tuple(c for c in BUILTIN if c.id in written), producer=producers.BUILDER)
    )
    # the manifest holds what the kernel wrote: its own July 2009 dummies, not the builder's
    kernel_short = {r.path: r.short_hex for r in report.results if r.parser == "reference"}
    builder_short = {r.path: r.short_hex for r in builder.results if r.parser == "reference"}
    assert kernel_short.keys() == builder_short.keys() and kernel_short != builder_short
    # and each reader sees the kernel's images as it sees the builder's
    assert _verdicts(report) == _verdicts(builder)


def _verdicts(run: RunReport) -> Counter[tuple[str, str, str, str]]:
    return Counter((r.case, r.path, r.parser, r.verdict) for r in run.results)
