"""`vfatcheck build`: write a FAT image and its manifest from a names file."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from vfatcheck.backends import proc
from vfatcheck.builder import build_image
from vfatcheck.commands.inputs import MAX_SIZE_MB, output_file, size_mb
from vfatcheck.errors import UserInputError
from vfatcheck.model import FAT_TYPES, FORMS
from vfatcheck.names.forms import ALIAS_STYLES
from vfatcheck.namesfile import parse_names, read_names

HELP = "write a FAT12/16/32 image with long names in one on-disk form, plus its manifest"

DESCRIPTION = """\
Write IMAGE and IMAGE.manifest.json from a names file (UTF-8, one path per line, '/' between
directories, a trailing '/' for an empty directory, '#' comments). Each file gets deterministic
content derived from its path and the seed; the same command always gives the same bytes.

forms (how a long name is stored on disk):
  standard   LFN slots plus a generated 8.3 alias, as Linux creates them (--alias-style linux,
             shortname=mixed) or as Windows does (--alias-style windows: single-case 8.3 names get
             only the NT case bits 0x08/0x10, no LFN)
  nodual     Tridgell's July 2009 CONFIG_VFAT_FS_NO_DUALNAMES: names that need an LFN get a random
             dummy 8.3 name ('~', '/', control bytes; the extension kept) and NT byte 0x20
  nodual-v1  the June 2009 version: dummy starting with a space and a NUL, no flag
             (byte layout reconstructed, see docs/forms.md)
  shortonly  CONFIG_VFAT_NO_CREATE_WITH_LONGNAMES: plain 8.3 names with case bits; a name that
             needs an LFN is an error

Bad input (invalid UTF-8, illegal characters, names over 255 UTF-16 units, case-insensitive
collisions, a full root directory, an image too small, a names file over 16 MiB or with a line
over 32768 bytes, an IMAGE path that cannot be written) exits with 2 and writes nothing. A UTF-8
byte-order mark at the start of the names file is skipped.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, metavar="IMAGE", help="the image file to write")
    parser.add_argument("--fat", type=int, choices=FAT_TYPES, required=True, help="FAT type")
    parser.add_argument("--form", choices=FORMS, required=True, help="on-disk form of long names")
    parser.add_argument("--names", type=Path, required=True, metavar="FILE", help="the names file")
    parser.add_argument("--seed", type=int, default=0, help="seed for contents, dummies, hashed tails (0)")
    parser.add_argument(
        "--size-mb",
        type=size_mb,
        default=None,
        help=f"image size in MiB, up to {MAX_SIZE_MB:g}; default: the smallest that fits",
    )
    parser.add_argument(
        "--alias-style", choices=ALIAS_STYLES, default="linux", help="8.3 alias rules for standard (linux)"
    )


def run(args: argparse.Namespace) -> int:
    image: Path = args.image
    output_file(image, "IMAGE")
    output_file(image.with_name(image.name + ".manifest.json"), "IMAGE's manifest")
    items = parse_names(read_names(args.names), args.seed)
    built = build_image(
        items,
        fat=args.fat,
        form=args.form,
        seed=args.seed,
        size_mb=args.size_mb,
        alias_style=args.alias_style,
    )
    manifest = image.with_name(image.name + ".manifest.json")
    _write_both(image, built.data, manifest, built.manifest.to_json().encode())
    print(f"{image}: FAT{args.fat} {args.form}, {len(built.manifest.entries)} entries; manifest {manifest}")
    return 0


def _write_both(image: Path, data: bytes, manifest: Path, text: bytes) -> None:
    """Both files appear, or neither: temp files in the target directory, then two renames."""
    temps: list[Path] = []
    made: list[Path] = []
    try:
        for target, blob in ((image, data), (manifest, text)):
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
            temps.append(Path(name))
            made.append(Path(name))
            proc.scratch_file(Path(name))  # removed on SIGTERM/SIGINT too
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
        os.replace(temps[0], image)
        temps[0] = image  # from here on, a failure must take the image away again
        os.replace(temps[1], manifest)
    except OSError as exc:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise UserInputError(f"cannot write {image}: {exc.strerror}") from None
    finally:
        for tmp in made:
            proc.forget_scratch(tmp)
