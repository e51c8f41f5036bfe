"""The Debian package: the PyInstaller bundle in ``/opt``, its two commands in ``/usr/bin``,
the desktop entry (the ``tel:``/``callto:`` handler), the hicolor icons and the AppStream
metadata, built with ``dpkg-deb``.

No maintainer scripts: the desktop database, the icon cache and the AppStream cache are
refreshed by the triggers of the packages that own them (desktop-file-utils,
hicolor-icon-theme, appstream), so install and purge leave nothing behind.

``Depends`` is read off the bundle itself: every library ``ldd`` resolves outside the
bundle (the C library, OpenGL, fontconfig...) is looked up with ``dpkg -S``, so the
package asks for exactly what this build links and no more.

    .venv/bin/python packaging/build_deb.py dist/myoperator-desktop dist [--compression gzip]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "myoperator-desktop"
INSTALL_DIR = Path("opt") / PACKAGE
DESKTOP_FILE = ROOT / "packaging/linux/myoperator-desktop.desktop"
METAINFO_FILE = ROOT / "packaging/linux/com.myoperator.Desktop.metainfo.xml"
ICON_SVG = ROOT / "packaging/icons/myoperator-desktop.svg"
ICON_DIR = ROOT / "desktop_app/resources/icons"
ICON_NAME = "myoperator-desktop"
#: The commands the package links into /usr/bin.
COMMANDS = ("myoperator-desktop", "myoperator")
#: dpkg-deb's -Z choices; gzip -1 is what CI uses (a few seconds, a larger file).
COMPRESSIONS = ("xz", "zstd", "gzip")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bundle import ldd_all  # noqa: E402  (a script beside this one)


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def outside_libraries(bundle: Path) -> set[str]:
    """The libraries the bundle's files load from the system (as found by the loader)."""
    found: set[str] = set()
    pattern = re.compile(r"=>\s+(/\S+)\s+\(")
    inside = bundle.resolve()
    for _path, result in ldd_all(bundle):
        for line in result.stdout.splitlines():
            match = pattern.search(line)
            if match:
                if not Path(match.group(1)).resolve().is_relative_to(inside):
                    found.add(match.group(1))
            elif line.strip().startswith("/") and " (" in line:  # the loader: no "=>"
                found.add(line.strip().split(" (")[0])
    return found


def owning_packages(paths: set[str]) -> list[str]:
    """The Debian packages those libraries come from (``dpkg -S``; the /usr-merged path
    is tried too, as dpkg records only one of /lib and /usr/lib)."""
    packages: set[str] = set()
    for path in sorted(paths):
        candidates = [path]
        if path.startswith("/lib"):
            candidates.append("/usr" + path)
        elif path.startswith("/usr/lib"):
            candidates.append(path[len("/usr"):])
        candidates += [str(Path(c).resolve()) for c in list(candidates)]
        for candidate in candidates:
            result = subprocess.run(
                ["dpkg", "-S", candidate], capture_output=True, text=True, check=False
            )
            owners = owners_in(result.stdout, candidate) if result.returncode == 0 else set()
            if owners:
                packages.update(owners)
                break
        else:
            raise SystemExit(f"build-deb: no Debian package owns {path}")
    return sorted(packages)


def with_glibc_floor(package: str) -> str:
    """``libc6 (>= 2.36)`` for the C library this bundle was built against (its symbols
    are versioned: an older one refuses to load the bundle); other names as they are."""
    if package != "libc6":
        return package
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libc6"], capture_output=True, text=True,
        check=False,
    )
    upstream = result.stdout.strip().split("-", 1)[0]
    return f"libc6 (>= {upstream})" if result.returncode == 0 and upstream else package


def owners_in(output: str, path: str) -> set[str]:
    """The package names in ``dpkg -S PATH``'s answer: ``libc6:amd64: PATH``, or
    ``pkg-a, pkg-b:amd64: PATH`` for a file two packages ship; the architecture is dropped
    (Depends names packages), and a diversion's ``diversion by pkg from: PATH`` lines are
    skipped (the package that diverts is not the one that ships the file)."""
    owners: set[str] = set()
    suffix = f": {path}"
    for line in output.splitlines():
        if line.startswith("diversion by ") or not line.endswith(suffix):
            continue
        for name in line[: -len(suffix)].split(","):
            owners.add(name.strip().split(":", 1)[0])
    return owners


def control_text(version: str, arch: str, depends: list[str], installed_kb: int) -> str:
    fields = {
        "Package": PACKAGE,
        "Version": version,
        "Architecture": arch,
        "Maintainer": "The MyOperator Desktop team <desktop@myoperator.invalid>",
        "Installed-Size": str(installed_kb),
        "Depends": ", ".join(depends),
        "Recommends": "xdg-utils, gnome-keyring | kwalletmanager",
        "Section": "net",
        "Priority": "optional",
        "Homepage": "https://github.com/myoperator-desktop/myoperator-desktop",
    }
    # No empty "Depends:" line when a bundle links nothing outside itself: leave it out.
    head = "".join(f"{key}: {value}\n" for key, value in fields.items() if value)
    return head + (
        "Description: desktop companion for the MyOperator cloud phone system\n"
        " The account's call log as it happens with instant search, call recordings,\n"
        " one-click calling (the cloud rings the agent's phone, then the customer), the\n"
        " team's users, and a notification the moment a call is missed. Opens tel: and\n"
        " callto: links into its dialer; nothing is dialled until Call is pressed.\n"
    )


def stage(bundle: Path, root: Path) -> None:
    """The package's file tree under `root` (everything but DEBIAN/)."""
    target = root / INSTALL_DIR
    shutil.copytree(bundle, target, symlinks=True)
    bin_dir = root / "usr/bin"
    bin_dir.mkdir(parents=True)
    for command in COMMANDS:
        (bin_dir / command).symlink_to(Path("/") / INSTALL_DIR / command)
    applications = root / "usr/share/applications"
    applications.mkdir(parents=True)
    shutil.copy2(DESKTOP_FILE, applications / DESKTOP_FILE.name)
    metainfo = root / "usr/share/metainfo"
    metainfo.mkdir(parents=True)
    shutil.copy2(METAINFO_FILE, metainfo / METAINFO_FILE.name)
    icons = root / "usr/share/icons/hicolor"
    for png in sorted(ICON_DIR.glob(f"{ICON_NAME}-*.png")):
        size = png.stem.rsplit("-", 1)[1]
        folder = icons / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, folder / f"{ICON_NAME}.png")
    scalable = icons / "scalable/apps"
    scalable.mkdir(parents=True)
    shutil.copy2(ICON_SVG, scalable / f"{ICON_NAME}.svg")
    for path in [root, *root.rglob("*")]:  # dpkg keeps the modes (and umask) on disk
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def build(
    bundle: Path, out_dir: Path, compression: str, level: int | None,
    work: Path = ROOT / "build/deb",
) -> Path:
    """Stage the package in `work` (emptied first), then build the .deb into `out_dir`."""
    version = project_version()
    arch = architecture()
    shutil.rmtree(work, ignore_errors=True)
    root = work / f"{PACKAGE}_{version}_{arch}"
    stage(bundle, root)
    depends = [with_glibc_floor(name) for name in owning_packages(outside_libraries(bundle))]
    installed_kb = sum(
        path.lstat().st_size for path in root.rglob("*") if not path.is_dir()
    ) // 1024
    debian = root / "DEBIAN"
    debian.mkdir()
    control = debian / "control"
    control.write_text(control_text(version, arch, depends, installed_kb))
    # dpkg-deb refuses a control file or folder the umask made private (0600, 0700).
    debian.chmod(0o755)
    control.chmod(0o644)
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
    command = ["dpkg-deb", "--root-owner-group", f"-Z{compression}"]
    if level is not None:
        command.append(f"-z{level}")
    subprocess.run([*command, "--build", str(root), str(deb)], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"build-deb: {deb} ({deb.stat().st_size / 2**20:.1f} MB, {compression}"
          f"{'' if level is None else f' -{level}'}; installed {installed_kb / 1024:.0f} MB)")
    print(f"build-deb: Depends: {', '.join(depends)}")
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the PyInstaller folder")
    parser.add_argument("out_dir", type=Path, help="where the .deb goes")
    parser.add_argument("--compression", choices=COMPRESSIONS, default="xz")
    parser.add_argument("--level", type=int, choices=range(10), default=None,
                        help="compression level (dpkg-deb -z); CI uses 1")
    args = parser.parse_args(argv)
    if not (args.bundle / PACKAGE).is_file():
        parser.error(f"{args.bundle} holds no {PACKAGE}: run the PyInstaller build first")
    build(args.bundle, args.out_dir, args.compression, args.level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
