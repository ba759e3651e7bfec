"""C sources shared by the programs vfatcheck compiles at first use (the guest helper of the kernel
back-ends, the FatFs reader programs): one SHA-256, so that every program hashes content the same way."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SHA256 = ("sha256.c", "sha256.h")


def path(name: str) -> Path:
    return HERE / name
