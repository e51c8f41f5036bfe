"""The Windows .ico and macOS .icns, read with struct (no Qt): each parses, holds the sizes
it declares, and holds the committed PNGs byte for byte, so it is as fresh as they are
(tests/gui/test_app_icon.py checks the PNGs against the SVG). And the installer files
point at them.

Re-run packaging/icons/render_icons.py when these fail after the SVG changed.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[3]
ICONS = ROOT / "packaging" / "icons"
ICO = ICONS / "myoperator-desktop.ico"
ICNS = ICONS / "myoperator-desktop.icns"
PNG_DIR = ROOT / "desktop_app" / "resources" / "icons"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS chunk types that hold a PNG, and its pixel size (Apple's icns types; @2x ones too).
ICNS_PIXELS = {
    b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512,
    b"ic10": 1024, b"ic11": 32, b"ic12": 64, b"ic13": 256, b"ic14": 512,
}


def committed_png(size: int) -> bytes:
    return (PNG_DIR / f"myoperator-desktop-{size}.png").read_bytes()


def png_size(data: bytes) -> tuple[int, int, int, int]:
    """Width, height, bit depth and colour type from a PNG's IHDR chunk."""
    assert data.startswith(PNG_MAGIC)
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


# --------------------------------------------------------------------------- .ico


class IcoEntry(NamedTuple):
    width: int
    height: int
    colours: int
    reserved: int
    planes: int
    bits: int
    data: bytes


def ico_entries(data: bytes) -> list[IcoEntry]:
    """ICONDIR (reserved 0, type 1 = icon, count), then count 16-byte ICONDIRENTRYs."""
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1), "not an ICO file"
    entries = []
    for index in range(count):
        fields = struct.unpack("<BBBBHHII", data[6 + 16 * index : 22 + 16 * index])
        width, height, colours, reserved_byte, planes, bits, length, offset = fields
        assert offset + length <= len(data), f"entry {index} runs past the end of the file"
        entries.append(IcoEntry(
            width or 256, height or 256, colours, reserved_byte, planes, bits,
            data[offset : offset + length],
        ))
    return entries


def test_the_ico_holds_each_windows_size_once() -> None:
    entries = ico_entries(ICO.read_bytes())
    assert sorted(e.width for e in entries) == list(ICO_SIZES)
    for entry in entries:
        assert entry.height == entry.width
        assert (entry.colours, entry.reserved, entry.planes, entry.bits) == (0, 0, 1, 32)


def test_the_ico_images_are_their_declared_size() -> None:
    for entry in ico_entries(ICO.read_bytes()):
        width, height, depth, colour = png_size(entry.data)
        assert (width, height) == (entry.width, entry.height)
        assert (depth, colour) == (8, 6)  # 8-bit RGBA: what Windows reads as a PNG entry


def test_the_ico_data_do_not_overlap_and_fill_the_file() -> None:
    data = ICO.read_bytes()
    _, _, count = struct.unpack("<HHH", data[:6])
    spans = sorted(
        struct.unpack("<II", data[6 + 16 * i + 8 : 6 + 16 * i + 16])[::-1] for i in range(count)
    )
    position = 6 + 16 * count
    for offset, length in spans:
        assert offset == position
        position += length
    assert position == len(data)


@pytest.mark.parametrize("size", ICO_SIZES)
def test_the_ico_holds_the_committed_png(size: int) -> None:
    by_size = {e.width: e.data for e in ico_entries(ICO.read_bytes())}
    assert by_size[size] == committed_png(size), "re-run packaging/icons/render_icons.py"


# -------------------------------------------------------------------------- .icns


def icns_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The ``icns`` header (magic, total length), then chunks: type, big-endian length
    counting its own 8-byte header, data."""
    magic, total = struct.unpack(">4sI", data[:8])
    assert magic == b"icns", "not an ICNS file"
    assert total == len(data)
    chunks = []
    position = 8
    while position < total:
        kind, length = struct.unpack(">4sI", data[position : position + 8])
        assert length >= 8 and position + length <= total, f"chunk {kind!r} is cut short"
        chunks.append((kind, data[position + 8 : position + length]))
        position += length
    return chunks


def test_the_icns_holds_the_sizes_finder_and_the_dock_draw() -> None:
    chunks = icns_chunks(ICNS.read_bytes())
    images = [(kind, body) for kind, body in chunks if kind in ICNS_PIXELS]
    kinds = [kind for kind, _ in images]
    assert len(set(kinds)) == len(kinds)
    assert {b"ic07", b"ic08", b"ic09"} <= set(kinds)  # 128, 256, 512
    assert {b"ic11", b"ic12", b"ic13", b"ic14"} <= set(kinds)  # their Retina twins
    assert {kind for kind, _ in chunks} - set(ICNS_PIXELS) <= {b"TOC "}


def test_the_icns_images_are_the_committed_pngs_of_their_size() -> None:
    for kind, body in icns_chunks(ICNS.read_bytes()):
        if kind == b"TOC ":
            continue
        side = ICNS_PIXELS[kind]
        assert png_size(body)[:2] == (side, side), kind
        assert body == committed_png(side), f"{kind!r}: re-run packaging/icons/render_icons.py"


def test_the_icns_table_of_contents_lists_the_chunks_that_follow() -> None:
    chunks = icns_chunks(ICNS.read_bytes())
    assert chunks[0][0] == b"TOC "
    toc = chunks[0][1]
    listed = [struct.unpack(">4sI", toc[i : i + 8]) for i in range(0, len(toc), 8)]
    assert listed == [(kind, 8 + len(body)) for kind, body in chunks[1:]]


# -------------------------------------------------- where the installers take them


def test_the_spec_gives_the_ico_to_windows_and_the_icns_to_the_mac_bundle() -> None:
    spec = (ROOT / "packaging" / "myoperator-desktop.spec").read_text(encoding="utf-8")
    assert '"packaging/icons/myoperator-desktop.ico"' in spec
    assert re.search(r'sys\.platform == "win32" and icon\.is_file\(\)', spec)
    bundle = spec[spec.index("BUNDLE(") :]
    assert 'icon=str(ROOT / "packaging/icons/myoperator-desktop.icns")' in bundle


def test_the_inno_script_takes_the_setup_icon_from_packaging_icons() -> None:
    iss = ROOT / "packaging" / "windows" / "myoperator-desktop.iss"
    found = re.search(
        r'#define IconFile AddBackslash\(SourcePath\) \+ "([^"]+)"', iss.read_text("ascii")
    )
    assert found, "no IconFile define relative to the script"
    relative = found.group(1).replace("\\", "/")
    assert (iss.parent / relative).resolve() == ICO
