"""packaging/check_bundle.py on small fake bundles: a library that loads passes; a Qt
library without its siblings, a library `strip` corrupted and a file that only looks like
ELF fail, each named with what ldd said; files that are not ELF are not checked.

The libraries are copies of real ones (the system's zlib, PySide6's Qt and FFmpeg), so
ldd sees what it sees in a real bundle.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "packaging" / "check_bundle.py"

pytestmark = pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd (glibc) is Linux's")


def check_bundle() -> ModuleType:
    """The script as a module (packaging/ is not a package)."""
    return load_script(SCRIPT)


def system_libraries() -> dict[str, Path]:
    """Soname -> file, from the loader's cache (the first listed: this machine's ABI)."""
    listing = subprocess.run(
        ["ldconfig", "-p"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    found: dict[str, Path] = {}
    for line in listing.splitlines():
        soname, arrow, path = line.strip().partition(" => ")
        if arrow:
            found.setdefault(soname.split()[0], Path(path))
    return found


def system_zlib() -> Path:
    candidates = [system_libraries().get("libz.so.1"), *Path("/").glob("lib*/*/libz.so.1")]
    for candidate in candidates:
        if candidate is not None and candidate.exists():
            return candidate.resolve()
    pytest.skip("no libz.so.1 on this system")


def qt_library(name: str) -> Path:
    spec = importlib.util.find_spec("PySide6")  # finds it without loading Qt
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "lib" / name
    if not path.exists():
        pytest.skip(f"this PySide6 has no {name}")
    return path.resolve()


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = check_bundle().main([str(tmp_path)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines()


def test_a_bundle_whose_libraries_load_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(system_zlib(), tmp_path / "libz.so.1")
    (tmp_path / "_internal").mkdir()
    (tmp_path / "_internal" / "base_library.zip").write_bytes(b"PK\x03\x04 not ELF")
    (tmp_path / "_internal" / "README.txt").write_text("not a library\n")
    (tmp_path / "libz.so").symlink_to("libz.so.1")  # checked through its target
    code, lines = run(tmp_path, capsys)
    assert lines == ["check-bundle: all 1 ELF files load (ldd)"]
    assert code == 0


def test_a_qt_library_without_its_siblings_is_named_with_each_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "libQt6Core.so.6" in system_libraries():
        pytest.skip("this system has its own Qt 6: the copy would find it")
    shutil.copy(system_zlib(), tmp_path / "libz.so.1")
    internal = tmp_path / "_internal"
    internal.mkdir()
    shutil.copy(qt_library("libQt6Multimedia.so.6"), internal / "libQt6Multimedia.so.6")
    code, lines = run(tmp_path, capsys)
    assert code == 1
    assert lines[-1] == "check-bundle: 1 of 2 ELF files do not load"
    failures = lines[:-1]
    assert "FAIL _internal/libQt6Multimedia.so.6: libQt6Core.so.6 => not found" in failures
    assert all(
        line.startswith("FAIL _internal/libQt6Multimedia.so.6: libQt6")
        and line.endswith("=> not found")
        for line in failures
    ), failures


def test_a_file_that_only_starts_like_elf_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(system_zlib(), tmp_path / "libz.so.1")
    (tmp_path / "libbroken.so").write_bytes(b"\x7fELF" + b"\0" * 60)
    code, lines = run(tmp_path, capsys)
    assert code == 1
    assert lines == [
        "FAIL libbroken.so: ldd refuses it: not a dynamic executable",
        "check-bundle: 1 of 2 ELF files do not load",
    ]


def test_a_stripped_ffmpeg_library_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `strip` (binutils 2.40) does to Qt's FFmpeg: the loader no longer takes it."""
    strip = shutil.which("strip")
    if strip is None:
        pytest.skip("strip (binutils) is not installed")
    stripped = tmp_path / "libavutil.so.59"
    shutil.copy(qt_library("libavutil.so.59"), stripped)
    subprocess.run([strip, str(stripped)], check=True, timeout=60)
    said = subprocess.run(["ldd", str(stripped)], capture_output=True, text=True, check=False)
    if said.returncode == 0:
        pytest.skip(f"this strip leaves libavutil loadable: {said.stdout.splitlines()[:1]}")
    code, lines = run(tmp_path, capsys)
    assert code == 1
    assert lines == [
        "FAIL libavutil.so.59: ldd refuses it: not a dynamic executable",
        "check-bundle: 1 of 1 ELF files do not load",
    ]


@pytest.mark.parametrize("argv", [[], ["a", "b"], ["/nonexistent/bundle"]])
def test_without_one_bundle_folder_it_prints_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_bundle().main(argv) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: check_bundle.py BUNDLE_DIR")
