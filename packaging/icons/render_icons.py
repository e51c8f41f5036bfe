"""Render the app icon's PNGs from its SVG source, and the Windows .ico and macOS .icns
made of those PNGs.

The PNGs are committed (the app, the wheel and the packages ship them; nothing renders
SVG at run time), and this script is how they are made. Run it with the project's venv
after changing the SVG:

    .venv/bin/python packaging/icons/render_icons.py

The .ico (PyInstaller's `icon=` on Windows, Inno Setup's SetupIconFile) and the .icns (the
macOS bundle's icon) are assembled here rather than by Qt's ico/icns image writers: each
of those writes one image per file, and calling `write` again appends a second file. Both
containers hold the PNG files byte for byte, so running the script twice gives identical
files and tests can check the containers against the committed PNGs without Qt.

tests/gui/test_app_icon.py fails when the committed PNGs no longer match the SVG, and
tests/unit/packaging/test_icon_files.py when the containers no longer match the PNGs.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SVG = HERE / "myoperator-desktop.svg"
OUT_DIR = HERE.parents[1] / "desktop_app" / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO = HERE / "myoperator-desktop.ico"
ICNS = HERE / "myoperator-desktop.icns"
#: Windows draws 256 px at most (Explorer's "extra large"); 512 would only add weight.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: The PNG-holding ICNS types iconutil writes, with the pixel size each holds; macOS
#: scales the nearest for any other size. Left out: icp4/icp5 (16 and 32 as PNG, which
#: some Finder views do not draw) and ic10 (1024 px, 512 pt on Retina: no 1024 PNG is
#: rendered, and Finder shows icons that large only in Quick Look).
ICNS_TYPES: tuple[tuple[bytes, int], ...] = (
    (b"ic11", 32),  # 16 pt @2x
    (b"ic12", 64),  # 32 pt @2x
    (b"ic07", 128),
    (b"ic13", 256),  # 128 pt @2x
    (b"ic08", 256),
    (b"ic14", 512),  # 256 pt @2x
    (b"ic09", 512),
)


def render(svg: Path, size: int) -> QImage:
    """The SVG drawn on a transparent `size` x `size` image, antialiased."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not an SVG QtSvg can render")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def output_path(size: int) -> Path:
    return OUT_DIR / f"myoperator-desktop-{size}.png"


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """An ICO file of PNG-compressed entries, smallest first: ICONDIR (reserved 0, type 1,
    count), one 16-byte ICONDIRENTRY per image (width and height 0 meaning 256, no
    palette, 1 plane, 32 bits, data size, data offset), then the PNG files. Windows reads
    PNG entries since Vista; Qt 6 needs Windows 10."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, images = [], []
    for size in sizes:
        if not 1 <= size <= 256:
            raise ValueError(f"an ICO entry is 1 to 256 pixels wide, not {size}")
        data = pngs[size]
        side = size % 256  # 256 is written as 0
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset))
        images.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(images)


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """An ICNS file: the ``icns`` magic and total length, a ``TOC `` chunk listing each
    icon chunk's type and length, then the chunks (four-byte type, big-endian length
    counting the 8-byte header, the PNG file), in `ICNS_TYPES` order."""
    chunks = [(kind, pngs[size]) for kind, size in ICNS_TYPES]
    toc_body = b"".join(kind + struct.pack(">I", 8 + len(data)) for kind, data in chunks)
    body = b"TOC " + struct.pack(">I", 8 + len(toc_body)) + toc_body
    body += b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in chunks)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_if_changed(path: Path, data: bytes) -> None:
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        path = output_path(size)
        if not render(SVG, size).save(str(path)):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(path.relative_to(HERE.parents[1]))
    pngs = {size: output_path(size).read_bytes() for size in SIZES}
    write_if_changed(ICO, ico_bytes({size: pngs[size] for size in ICO_SIZES}))
    write_if_changed(ICNS, icns_bytes(pngs))
    for path in (ICO, ICNS):
        print(path.relative_to(HERE.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
