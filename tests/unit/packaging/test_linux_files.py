"""The Linux desktop entry and AppStream metainfo: parsed and checked against the names the
project fixes (the executables, the icon, the URL schemes, the version), then given to
the freedesktop validators when they are installed.

`make package` installs desktop-file-utils and appstream, so the validator tests run
there; `make test` skips them (the skip says why). That the window's WM_CLASS matches
StartupWMClass needs Qt: tests/gui/test_desktop_identity.py.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINUX = ROOT / "packaging" / "linux"
DESKTOP_FILE = LINUX / "myoperator-desktop.desktop"
METAINFO = LINUX / "com.myoperator.Desktop.metainfo.xml"
ICON_NAME = "myoperator-desktop"
APP_ID = "com.myoperator.Desktop"
ENTRY = "Desktop Entry"


@cache
def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def executables() -> set[str]:
    project = pyproject()["project"]
    return set(project["scripts"]) | set(project["gui-scripts"])


def desktop_entry() -> configparser.ConfigParser:
    """The file as groups of keys. Interpolation off (``%u`` is the entry's own field
    code) and keys case-sensitive (``Name`` and ``name`` differ in the spec)."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(DESKTOP_FILE.read_text(encoding="utf-8"), source=str(DESKTOP_FILE))
    return parser


def listed(value: str) -> list[str]:
    """A ``;``-separated desktop-entry list (its trailing ``;`` included)."""
    return [item for item in value.split(";") if item]


# ------------------------------------------------------------------ desktop entry


def test_the_entry_launches_the_gui_with_the_clicked_link() -> None:
    entry = desktop_entry()[ENTRY]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "myoperator-desktop %u"  # %u: one URL, the tel:/callto: link
    assert entry["TryExec"] == "myoperator-desktop"
    assert "myoperator-desktop" in pyproject()["project"]["gui-scripts"]
    assert entry["Terminal"] == "false"


def test_the_entry_handles_tel_and_callto_links() -> None:
    mime_types = listed(desktop_entry()[ENTRY]["MimeType"])
    assert sorted(mime_types) == ["x-scheme-handler/callto", "x-scheme-handler/tel"]


def test_the_entry_names_the_theme_icon_and_the_window_class() -> None:
    entry = desktop_entry()[ENTRY]
    assert entry["Icon"] == ICON_NAME  # a theme name, not a path: the package installs it
    # Qt sets WM_CLASS's class to the application name, which is the window title.
    assert entry["StartupWMClass"] == entry["Name"] == "MyOperator Desktop"
    assert entry["StartupNotify"] == "true"
    assert {"Network", "Telephony"} <= set(listed(entry["Categories"]))


def test_the_demo_action_opens_the_demo() -> None:
    entry = desktop_entry()
    assert listed(entry[ENTRY]["Actions"]) == ["demo"]
    demo = entry["Desktop Action demo"]
    assert demo["Name"]
    command = demo["Exec"].split()
    assert command[0] == "myoperator-desktop"
    assert "--demo" in command[1:]


def test_desktop_file_validate_accepts_the_entry() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (desktop-file-utils; "
                    "`make package` installs it)")
    result = subprocess.run(
        [tool, str(DESKTOP_FILE)], capture_output=True, text=True, timeout=60, check=False
    )
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not said, said


# ---------------------------------------------------------------------- metainfo


@cache
def metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def text_of(path: str) -> str:
    found = metainfo().find(path)
    assert found is not None and found.text, f"no <{path}> in the metainfo"
    return found.text.strip()


def test_the_metainfo_is_the_desktop_applications() -> None:
    root = metainfo()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert text_of("id") == APP_ID
    assert METAINFO.name == f"{APP_ID}.metainfo.xml"  # where AppStream looks for it
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP_FILE.name
    assert text_of("icon") == ICON_NAME
    assert text_of("name") == desktop_entry()[ENTRY]["Name"]


def test_the_metainfo_provides_both_executables() -> None:
    binaries = {element.text for element in metainfo().iterfind("provides/binary")}
    assert binaries == executables() == {"myoperator-desktop", "myoperator"}


def test_the_newest_release_is_the_projects_version() -> None:
    releases = metainfo().findall("releases/release")
    assert releases, "no <release> in the metainfo"
    assert releases[0].get("version") == pyproject()["project"]["version"]
    assert releases[0].get("date")


def test_every_screenshot_is_a_file_in_docs() -> None:
    images = [element.text or "" for element in metainfo().iterfind("screenshots/screenshot/image")]
    assert images
    defaults = [s for s in metainfo().iterfind("screenshots/screenshot") if s.get("type")]
    assert [s.get("type") for s in defaults] == ["default"]
    for url in images:
        parsed = urlparse(url.strip())
        assert parsed.scheme == "https", url
        folder, _, name = parsed.path.rpartition("/")
        assert folder.endswith("/docs"), url
        assert (ROOT / "docs" / name).is_file(), f"{url}: docs/{name} does not exist"


def test_appstreamcli_accepts_the_metainfo() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (appstream; `make package` installs it)")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
