"""The C sources shared by every program vfatcheck compiles (vfatcheck/native/)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests import harness
from vfatcheck import native


@harness.live("cc", reason="needs a C compiler (apt-get install gcc libc6-dev)")
def test_the_shared_sha256_agrees_with_hashlib(tmp_path: Path) -> None:
    main = tmp_path / "main.c"
    main.write_text(
        '#include <stdio.h>\n#include "sha256.h"\nint main(void) { static unsigned char b[1 << 20];\n'
        "size_t n = fread(b, 1, sizeof b, stdin); struct sha256 s; char h[65]; sha256_init(&s);\n"
        "for (size_t i = 0; i < n; i += 7) sha256_update(&s, b + i, n - i < 7 ? n - i : 7);\n"
        "sha256_hex(&s, h); puts(h); return 0; }\n"
    )
    program = tmp_path / "sha"
    sources = [str(main), str(native.path("sha256.c"))]
    subprocess.run(["cc", "-O2", f"-I{native.HERE}", "-o", str(program), *sources], check=True)
    for size in (0, 1, 55, 56, 63, 64, 65, 119, 1000, 70001):
        data = bytes((n * 7 + size) % 251 for n in range(size))
        out = subprocess.run([str(program)], input=data, capture_output=True, check=True).stdout
        assert out.decode().strip() == hashlib.sha256(data).hexdigest(), size
