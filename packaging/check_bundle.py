"""Every shared library and executable in the bundle loads: ``ldd`` over each ELF file.

Two faults leave the window looking fine while recordings never play: libraries
corrupted by stripping (ldd then refuses the file) and a library pruned that a plugin
still links (QtQuick/Qml, which the FFmpeg plugin needs: "=> not found"). This catches both
in seconds, before the slower ``--self-test``.

    .venv/bin/python packaging/check_bundle.py dist/myoperator-desktop
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def elf_files(root: Path) -> list[Path]:
    """Regular ELF files under `root` (symlinks are checked through their targets)."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            if handle.read(4) == ELF_MAGIC:
                found.append(path)
    return found


def loader_env(root: Path) -> dict[str, str]:
    """The loader as the bundle's launcher sets it up: the bundle's own folder searched
    first, and nothing this shell preloads (faketime, a debugger)."""
    env = {
        key: value for key, value in os.environ.items()
        if key not in ("LD_LIBRARY_PATH", "LD_PRELOAD")
    }
    internal = root / "_internal"
    if internal.is_dir():
        env["LD_LIBRARY_PATH"] = str(internal.resolve())
    return env


def ldd_all(root: Path) -> list[tuple[Path, subprocess.CompletedProcess[str]]]:
    """``ldd``'s answer for every ELF file of the bundle, as its launcher would load them
    (`loader_env`), a few at a time."""
    files = elf_files(root)
    env = loader_env(root)

    def ldd(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, env=env, check=False
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(zip(files, pool.map(ldd, files), strict=True))


def problems_in(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What one file's ``ldd`` answer says is wrong with it (nothing: it loads)."""
    said = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "not a dynamic executable" in said:
        return [f"ldd refuses it: {said.splitlines()[-1] if said else result.returncode}"]
    return [line.strip() for line in said.splitlines() if "not found" in line]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: check_bundle.py BUNDLE_DIR", file=sys.stderr)
        return 64
    root = Path(argv[0])
    answers = ldd_all(root)
    broken = [(path, problems_in(result)) for path, result in answers if problems_in(result)]
    for path, problems in broken:
        for problem in problems:
            print(f"FAIL {path.relative_to(root)}: {problem}")
    if broken:
        print(f"check-bundle: {len(broken)} of {len(answers)} ELF files do not load")
        return 1
    print(f"check-bundle: all {len(answers)} ELF files load (ldd)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
