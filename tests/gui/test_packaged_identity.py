"""What the installers say about the app, against what the app does under Qt: the desktop
entry's window class and file name are the names the app gives Qt, its commands parse
with the app's own arguments, and Qt's ico/icns readers (a parser other than the tests'
own, in tests/unit/packaging/test_icon_files.py) decode every image of the containers.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtGui import QImageReader
from PySide6.QtWidgets import QApplication

from desktop_app.app import name_application, parse_args
from desktop_app.ui.common.icons import ICON_DIR, ICON_NAME
from desktop_app.ui.shell.main_window import APP_TITLE
from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
DESKTOP_FILE = ROOT / "packaging" / "linux" / "myoperator-desktop.desktop"
ICONS = ROOT / "packaging" / "icons"
RENDER_SCRIPT = ICONS / "render_icons.py"


def desktop_entry() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(DESKTOP_FILE.read_text(encoding="utf-8"))
    return parser


def render_script() -> ModuleType:
    return load_script(RENDER_SCRIPT)


def test_the_entry_matches_the_names_the_app_gives_qt(qapp: QApplication) -> None:
    """On X11 Qt sets WM_CLASS's class to the application name; on Wayland the app id is
    the desktop file name. Either way the shell finds the entry (its icon, its name in
    the dock) for a running window by them."""
    entry = desktop_entry()["Desktop Entry"]
    before = qapp.applicationName(), qapp.desktopFileName(), qapp.windowIcon()
    try:
        name_application(qapp)
        assert entry["StartupWMClass"] == qapp.applicationName() == APP_TITLE
        assert f"{qapp.desktopFileName()}.desktop" == DESKTOP_FILE.name
    finally:
        qapp.setApplicationName(before[0])
        qapp.setDesktopFileName(before[1])
        qapp.setWindowIcon(before[2])
    assert entry["Icon"] == ICON_NAME


def test_the_entry_commands_parse_as_the_app_reads_them() -> None:
    entry = desktop_entry()
    program, *arguments = entry["Desktop Entry"]["Exec"].split()
    assert program == "myoperator-desktop"
    clicked = [a.replace("%u", "tel:+911234567890") for a in arguments]
    opened = parse_args(clicked)
    assert opened.uri == "tel:+911234567890" and not opened.demo
    program, *arguments = entry["Desktop Action demo"]["Exec"].split()
    assert program == "myoperator-desktop"
    assert parse_args(arguments).demo is True


def decoded_sizes(path: Path, qt_format: bytes) -> list[int]:
    reader = QImageReader(str(path), qt_format)
    sizes = []
    for index in range(reader.imageCount()):
        assert reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), f"{path.name} image {index}: {reader.errorString()}"
        assert image.width() == image.height() and image.hasAlphaChannel()
        sizes.append(image.width())
    return sizes


def test_qt_decodes_every_image_of_the_ico(qapp: QApplication) -> None:
    sizes = decoded_sizes(ICONS / f"{ICON_NAME}.ico", b"ico")
    assert sizes == list(render_script().ICO_SIZES)


def test_qt_decodes_every_image_of_the_icns(qapp: QApplication) -> None:
    # Qt's reader warns about the table of contents of any ICNS (its own writer's too),
    # then reads every chunk.
    sizes = decoded_sizes(ICONS / f"{ICON_NAME}.icns", b"icns")
    assert sorted(sizes) == sorted(size for _, size in render_script().ICNS_TYPES)
    assert {128, 256, 512} <= set(sizes)


@pytest.mark.parametrize("container", ["ico", "icns"])
def test_the_script_rebuilds_the_committed_containers_from_the_pngs(container: str) -> None:
    """The same PNGs give the same bytes: the files are what the script writes."""
    script = render_script()
    pngs = {size: (ICON_DIR / f"{ICON_NAME}-{size}.png").read_bytes() for size in script.SIZES}
    if container == "ico":
        rebuilt = script.ico_bytes({size: pngs[size] for size in script.ICO_SIZES})
    else:
        rebuilt = script.icns_bytes(pngs)
    assert rebuilt == (ICONS / f"{ICON_NAME}.{container}").read_bytes()
