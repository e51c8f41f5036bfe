"""packaging/build_deb.py on a fake bundle: the staged tree (the bundle in /opt, the two
commands linked into /usr/bin, the desktop entry, the metainfo, every icon size, the modes
dpkg keeps), the control paragraph, the owners `dpkg -S` reports (diversions and shared
files included), a bundle without its executable refused, and a whole .deb built with
gzip -1 under a private umask read back with `dpkg-deb --info/--contents`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "packaging" / "build_deb.py"
ICONS = ROOT / "desktop_app" / "resources" / "icons"
INSTALL = "opt/myoperator-desktop"

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is Debian's")


def build_deb() -> ModuleType:
    """The script as a module (packaging/ is not a package)."""
    return load_script(SCRIPT)


def fake_bundle(folder: Path, library: bytes = b"not really ELF\n") -> Path:
    """What PyInstaller leaves, in miniature: the two executables and a library."""
    folder.mkdir()
    for command in ("myoperator-desktop", "myoperator"):
        (folder / command).write_text("#!/bin/sh\nexit 0\n")
        (folder / command).chmod(0o700)
    (folder / "_internal").mkdir(mode=0o700)
    (folder / "_internal" / "some.so").write_bytes(library)
    (folder / "_internal" / "some.so").chmod(0o600)
    return folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_staged_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    build_deb().stage(fake_bundle(tmp_path / "bundle"), root)

    assert (root / INSTALL / "myoperator-desktop").read_text() == "#!/bin/sh\nexit 0\n"
    assert (root / INSTALL / "_internal" / "some.so").is_file()
    for command in ("myoperator-desktop", "myoperator"):
        link = root / "usr/bin" / command
        assert link.is_symlink()
        assert str(link.readlink()) == f"/{INSTALL}/{command}"
    assert (root / "usr/share/applications/myoperator-desktop.desktop").read_bytes() == (
        ROOT / "packaging/linux/myoperator-desktop.desktop").read_bytes()
    assert (root / "usr/share/metainfo/com.myoperator.Desktop.metainfo.xml").is_file()

    hicolor = root / "usr/share/icons/hicolor"
    sizes = sorted(int(png.stem.rsplit("-", 1)[1]) for png in ICONS.glob("*.png"))
    assert sizes == [16, 24, 32, 48, 64, 128, 256, 512]
    for size in sizes:
        icon = hicolor / f"{size}x{size}" / "apps" / "myoperator-desktop.png"
        assert icon.read_bytes() == (ICONS / f"myoperator-desktop-{size}.png").read_bytes()
    assert sorted(p.name for p in hicolor.iterdir()) == sorted(
        [f"{size}x{size}" for size in sizes] + ["scalable"])
    assert (hicolor / "scalable/apps/myoperator-desktop.svg").read_bytes() == (
        ROOT / "packaging/icons/myoperator-desktop.svg").read_bytes()

    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.relative_to(root).as_posix() in (
            f"{INSTALL}/myoperator-desktop", f"{INSTALL}/myoperator")
        assert mode(path) == (0o755 if executable else 0o644), path


def test_the_control_paragraph() -> None:
    text = build_deb().control_text("0.1.0", "amd64", ["libc6", "libgl1"], 250_000)
    assert text.endswith("\n") and "\n\n" not in text
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(" "):
            assert line.strip(), "an empty continuation line must be ' .'"
            assert len(line) <= 80, line
            continue
        key, colon, value = line.partition(": ")
        assert colon and key.replace("-", "").isalnum() and value.strip(), line
        fields[key] = value
    assert fields["Package"] == "myoperator-desktop"
    assert fields["Version"] == "0.1.0"
    assert fields["Architecture"] == "amd64"
    assert fields["Depends"] == "libc6, libgl1"
    assert fields["Installed-Size"] == "250000"
    assert list(fields)[-1] == "Description"


def test_no_empty_depends_line() -> None:
    lines = build_deb().control_text("0.1.0", "amd64", [], 1).splitlines()
    assert not [line for line in lines if line.startswith("Depends")]


def test_owners_read_off_dpkg_search_answers() -> None:
    owners_in = build_deb().owners_in
    path = "/lib/x86_64-linux-gnu/libc.so.6"
    assert owners_in(f"libc6:amd64: {path}\n", path) == {"libc6"}
    assert owners_in("diversion by postgresql-common from: /usr/bin/pg_config\n"
                     "diversion by postgresql-common to: /usr/bin/pg_config.libpq-dev\n"
                     "postgresql-common, libpq-dev: /usr/bin/pg_config\n",
                     "/usr/bin/pg_config") == {"postgresql-common", "libpq-dev"}
    assert owners_in("libgl1:amd64, libgl1-mesa-dri:amd64: /usr/lib/x/libGL.so.1\n",
                     "/usr/lib/x/libGL.so.1") == {"libgl1", "libgl1-mesa-dri"}
    assert owners_in("diversion by dash from: /bin/sh\n", "/bin/sh") == set()


def system_libc() -> str:
    listing = subprocess.run(
        ["ldconfig", "-p"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    for line in listing.splitlines():
        soname, arrow, path = line.strip().partition(" => ")
        if arrow and soname.split()[0] == "libc.so.6":
            return path
    pytest.skip("no libc.so.6 in the loader's cache")


@needs_dpkg
def test_the_c_library_belongs_to_libc6() -> None:
    assert "libc6" in build_deb().owning_packages({system_libc()})


@needs_dpkg
def test_a_library_no_package_owns_is_named(tmp_path: Path) -> None:
    stray = tmp_path / "libstray.so.1"
    stray.write_bytes(b"")
    with pytest.raises(SystemExit) as raised:
        build_deb().owning_packages({str(stray)})
    assert str(raised.value) == f"build-deb: no Debian package owns {stray}"


def test_a_folder_without_the_executable_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dist").mkdir()
    with pytest.raises(SystemExit) as raised:
        build_deb().main([str(tmp_path / "dist"), str(tmp_path / "out")])
    assert raised.value.code == 2
    assert "holds no myoperator-desktop: run the PyInstaller build first" in (
        capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@needs_dpkg
@pytest.mark.skipif(shutil.which("dpkg-deb") is None or shutil.which("ldd") is None,
                    reason="dpkg-deb and ldd")
def test_a_whole_package(tmp_path: Path) -> None:
    """The fake bundle's library is a copy of the system's zlib, so ldd finds the C
    library outside the bundle and Depends names libc6."""
    zlib = Path(system_libc()).with_name("libz.so.1")
    if not zlib.exists():
        pytest.skip("no libz.so.1 beside the C library")
    module = build_deb()
    bundle = fake_bundle(tmp_path / "bundle", zlib.read_bytes())

    previous = os.umask(0o077)  # a private umask must not leak into the package
    try:
        deb = module.build(bundle, tmp_path / "out", "gzip", 1, work=tmp_path / "work")
    finally:
        os.umask(previous)

    assert deb.parent == tmp_path / "out" and deb.name.endswith(".deb")
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert " Package: myoperator-desktop\n" in info
    assert f" Version: {module.project_version()}\n" in info
    assert f" Architecture: {module.architecture()}\n" in info
    depends = next(line for line in info.splitlines() if line.startswith(" Depends: "))
    # The C library with the build machine's version as the floor (versioned symbols).
    libc = [d for d in depends.removeprefix(" Depends: ").split(", ") if d.startswith("libc6")]
    assert len(libc) == 1 and libc[0].startswith("libc6 (>= 2.")
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, timeout=60, check=True).stdout
    for command in ("myoperator-desktop", "myoperator"):
        assert f"./usr/bin/{command} -> /{INSTALL}/{command}" in contents
    assert f"./{INSTALL}/_internal/some.so" in contents
    assert "./usr/share/applications/myoperator-desktop.desktop" in contents
    for line in contents.splitlines():
        permissions, owner = line.split()[:2]
        assert owner == "root/root", line
        assert permissions in ("drwxr-xr-x", "-rwxr-xr-x", "-rw-r--r--", "lrwxrwxrwx"), line
    assert "-rwxr-xr-x root/root" in next(
        line for line in contents.splitlines() if line.endswith(f"./{INSTALL}/myoperator"))
