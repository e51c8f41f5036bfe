"""The app's icon: the committed PNGs (every size, not blank, not stale against the SVG),
the SVG QtSvg renders, the window icon the app sets, and the tray's badge and grey."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

import desktop_app
from desktop_app.app import name_application
from desktop_app.ui.common.icons import (
    ICON_DIR,
    ICON_SIZES,
    app_icon,
    app_icon_image,
    icon_file,
)
from desktop_app.ui.notifications.tray import tray_icon
from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
SVG = ROOT / "packaging" / "icons" / "myoperator-desktop.svg"
RENDER_SCRIPT = ROOT / "packaging" / "icons" / "render_icons.py"
SVG_NS = "{http://www.w3.org/2000/svg}"
#: What QtSvg (SVG Tiny 1.2) draws faithfully; no text, filters, images or external refs.
ALLOWED_ELEMENTS = {"svg", "defs", "linearGradient", "stop", "g", "rect", "circle", "path"}


def render_script() -> ModuleType:
    return load_script(RENDER_SCRIPT)


def alpha(image: QImage, x: int, y: int) -> int:
    return image.pixelColor(x, y).alpha()


def test_the_icons_live_in_the_package_so_wheels_and_bundles_carry_them() -> None:
    assert Path(desktop_app.__file__).resolve().parent / "resources" / "icons" == ICON_DIR
    assert render_script().SIZES == ICON_SIZES
    assert render_script().output_path(48) == icon_file(48)


@pytest.mark.parametrize("size", ICON_SIZES)
def test_every_png_size_exists_at_its_size_and_is_drawn(qapp: QApplication, size: int) -> None:
    image = QImage(str(icon_file(size)))
    assert not image.isNull(), icon_file(size)
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()
    centre = size // 2
    assert alpha(image, centre, centre) == 255  # the tile is opaque
    corners = [(0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)]
    assert all(alpha(image, x, y) == 0 for x, y in corners)  # its rounded corners are not
    colours = {image.pixel(x, y) for x in range(0, size, max(1, size // 16)) for y in range(size)}
    assert len(colours) > 10  # a picture, not a flat square


def test_the_svg_is_what_qtsvg_renders(qapp: QApplication) -> None:
    renderer = QSvgRenderer(str(SVG))
    assert renderer.isValid()
    assert renderer.viewBoxF() == QRectF(0, 0, 512, 512)
    root = ET.parse(SVG).getroot()
    assert root.get("viewBox") == "0 0 512 512"
    tags = {element.tag.removeprefix(SVG_NS) for element in root.iter()}
    assert tags <= ALLOWED_ELEMENTS, tags - ALLOWED_ELEMENTS
    hrefs = [v for e in root.iter() for k, v in e.attrib.items() if k.endswith("href")]
    assert hrefs == []


def test_the_committed_pngs_are_rendered_from_the_current_svg(qapp: QApplication) -> None:
    """Re-run packaging/icons/render_icons.py after changing the SVG."""
    fresh = render_script().render(SVG, 64)
    committed = QImage(str(icon_file(64))).convertToFormat(QImage.Format.Format_ARGB32)
    assert fresh.size() == committed.size()
    differences = []
    for y in range(64):
        for x in range(64):
            a, b = fresh.pixelColor(x, y), committed.pixelColor(x, y)
            differences.append(
                max(abs(a.red() - b.red()), abs(a.green() - b.green()),
                    abs(a.blue() - b.blue()), abs(a.alpha() - b.alpha()))
            )
    # Rasterisers may differ by a shade on edges; a changed drawing moves whole shapes.
    assert sum(differences) / len(differences) < 1.0
    assert sum(d > 24 for d in differences) < 20


def test_the_app_sets_the_icon_every_window_inherits(qapp: QApplication) -> None:
    before_name, before_icon = qapp.applicationName(), qapp.windowIcon()
    try:
        name_application(qapp)
        icon = QApplication.windowIcon()
        assert not icon.isNull()
        assert {s.width() for s in icon.availableSizes()} >= set(ICON_SIZES)
    finally:
        qapp.setApplicationName(before_name)
        qapp.setWindowIcon(before_icon)


def test_the_icon_image_for_a_size_between_the_rendered_ones(qapp: QApplication) -> None:
    image = app_icon_image(22)  # a tray size: the 24 px render scaled down
    assert (image.width(), image.height()) == (22, 22)
    assert alpha(image, 11, 11) == 255 and alpha(image, 0, 0) == 0
    assert app_icon() is app_icon()  # loaded once


def image_of(count: int, *, dnd: bool = False, size: int = 32) -> QImage:
    return tray_icon(count, dnd=dnd).pixmap(size, size).toImage().convertToFormat(
        QImage.Format.Format_ARGB32
    )


def is_red(image: QImage, x: int, y: int) -> bool:
    colour = image.pixelColor(x, y)
    return colour.red() > 200 and colour.green() < 80 and colour.blue() < 80


@pytest.mark.parametrize("size", [16, 22, 32, 64])
def test_the_tray_icon_is_the_app_icon_with_a_count_badge(
    qapp: QApplication, size: int
) -> None:
    plain, counted = image_of(0, size=size), image_of(7, size=size)
    assert plain == app_icon_image(size).convertToFormat(QImage.Format.Format_ARGB32)
    assert counted != plain
    top_right = [(x, y) for x in range(size // 2, size) for y in range(size // 2)]
    assert not any(is_red(plain, x, y) for x, y in top_right)
    assert sum(is_red(counted, x, y) for x, y in top_right) > size * size // 20
    bottom_left = [(x, y) for x in range(size // 2) for y in range(size // 2, size)]
    assert all(plain.pixel(x, y) == counted.pixel(x, y) for x, y in bottom_left)


def test_the_tray_icon_greys_under_do_not_disturb(qapp: QApplication) -> None:
    normal, grey = image_of(0), image_of(0, dnd=True)
    assert grey != normal
    tile = normal.pixelColor(22, 16)  # the tile's blue, between the handset and its cloud
    assert tile.blue() - tile.red() > 60
    for y in range(32):
        for x in range(32):
            colour = grey.pixelColor(x, y)
            assert abs(colour.red() - colour.blue()) <= 2, (x, y)  # no colour left
            assert colour.alpha() == normal.pixelColor(x, y).alpha()  # same shape
    counted = image_of(3, dnd=True)
    assert any(is_red(counted, x, y) for x in range(16, 32) for y in range(16))  # calls wait
