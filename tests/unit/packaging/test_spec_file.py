"""The PyInstaller spec, read as Python source (ast) and never run: it strips and
UPX-compresses nothing, and what it leaves out of the bundle spares every library Qt's
FFmpeg multimedia plugin links.

Both faults leave a bundle whose window opens while no recording ever plays; the bundle
checks (check_bundle.py, --self-test) catch them after a long build, these in a second.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "packaging" / "myoperator-desktop.spec"
#: Where PyInstaller's PySide6 hook puts Qt's libraries and plugins in `_internal/`.
QT_LIB_DEST = "PySide6/Qt/lib"
FFMPEG_PLUGIN = "plugins/multimedia/libffmpegmediaplugin.so"


@cache
def spec_source() -> str:
    return SPEC.read_text(encoding="utf-8")


@cache
def spec_tree() -> ast.Module:
    return ast.parse(spec_source(), filename=str(SPEC))


def calls_to(name: str) -> list[ast.Call]:
    return [
        node for node in ast.walk(spec_tree())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


@pytest.mark.parametrize("option", ["strip", "upx"])
def test_nothing_is_stripped_or_upx_compressed(option: str) -> None:
    """Stripping corrupts Qt's FFmpeg libraries (ldd: "not a dynamic executable")."""
    given = [
        keyword for node in ast.walk(spec_tree()) if isinstance(node, ast.Call)
        for keyword in node.keywords if keyword.arg == option
    ]
    assert len(given) >= 2  # the executables' common options, and COLLECT
    for keyword in given:
        assert isinstance(keyword.value, ast.Constant) and keyword.value.value is False, (
            f"line {keyword.lineno}: {ast.unparse(keyword)}"
        )
    # Every call that builds files says it, directly or through `**common`.
    common = next(c for c in calls_to("dict") if any(k.arg == option for k in c.keywords))
    for builder in [*calls_to("EXE"), *calls_to("COLLECT")]:
        named = {k.arg for k in builder.keywords}
        spread = [ast.unparse(k.value) for k in builder.keywords if k.arg is None]
        assert option in named or (spread == ["common"] and common), ast.unparse(builder)


def left_out_test() -> Callable[[tuple[str, ...]], bool]:
    """The spec's own `used` over its own `UNUSED`, taken out of its source."""
    wanted: list[ast.stmt] = [
        node for node in spec_tree().body
        if (isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "UNUSED")
        or (isinstance(node, ast.FunctionDef) and node.name == "used")
    ]
    assert len(wanted) == 2, "the spec has no UNUSED tuple or used() function"
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(SPEC), "exec"), namespace)
    used = namespace["used"]
    assert callable(used)
    return used


def unused_fragments() -> tuple[str, ...]:
    node = next(
        n for n in spec_tree().body
        if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "UNUSED"
    )
    fragments = ast.literal_eval(node.value)
    assert isinstance(fragments, tuple) and fragments
    return fragments


def test_the_left_out_fragments_spare_qml_and_quick() -> None:
    for fragment in unused_fragments():
        assert "Qt6Qml." not in fragment and "Qt6Quick." not in fragment, fragment
        for library in ("libQt6Qml.so.6", "libQt6Quick.so.6"):
            assert fragment not in f"/{QT_LIB_DEST}/{library}", fragment
    used = left_out_test()
    assert used((f"{QT_LIB_DEST}/libQt6Quick.so.6", "src", "BINARY"))
    assert used((f"{QT_LIB_DEST}/libQt6Qml.so.6", "src", "BINARY"))
    # ...while what it means to leave out is left out.
    assert not used((f"{QT_LIB_DEST}/libQt6QuickControls2.so.6", "src", "BINARY"))
    assert not used((f"{QT_LIB_DEST}/libQt6Pdf.so.6", "src", "BINARY"))
    assert not used(("PySide6/Qt/translations/qt_de.qm", "src", "DATA"))


def needed(path: Path) -> list[str]:
    dump = subprocess.run(
        ["objdump", "-p", str(path)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return [line.split()[1] for line in dump.splitlines() if line.strip().startswith("NEEDED")]


def test_every_qt_library_the_ffmpeg_plugin_reaches_is_kept() -> None:
    """Followed through PySide6's own libraries (objdump), as the loader would."""
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    spec = importlib.util.find_spec("PySide6")
    assert spec is not None and spec.submodule_search_locations
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    plugin = qt / FFMPEG_PLUGIN
    if not plugin.exists():
        pytest.skip(f"this PySide6 has no {FFMPEG_PLUGIN}")
    used = left_out_test()
    assert used((f"PySide6/Qt/{FFMPEG_PLUGIN}", str(plugin), "BINARY"))
    reached: set[str] = set()
    queue = [plugin]
    while queue:
        for soname in needed(queue.pop()):
            if soname not in reached and (qt / "lib" / soname).exists():
                reached.add(soname)
                queue.append(qt / "lib" / soname)
    assert {"libQt6Quick.so.6", "libQt6Qml.so.6"} <= reached
    assert any(s.startswith("libavcodec.so.") for s in reached)
    dropped = sorted(s for s in reached if not used((f"{QT_LIB_DEST}/{s}", "src", "BINARY")))
    assert dropped == [], f"the FFmpeg plugin needs {dropped}, which the spec leaves out"
