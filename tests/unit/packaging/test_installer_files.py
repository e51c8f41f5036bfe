"""The installer files this Linux machine cannot build, checked as text: the macOS
Info.plist (parsed with plistlib) and the Windows Inno Setup script (its sections read
line by line: enough to check what it registers, not an Inno parser).

What a compile would catch beyond this (ISCC's syntax, a signed .app) is left to the
release checklist on those platforms.
"""

from __future__ import annotations

import plistlib
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLIST = ROOT / "packaging" / "macos" / "Info.plist"
ISS = ROOT / "packaging" / "windows" / "myoperator-desktop.iss"

SCHEMES = ("tel", "callto")
APP_NAME = "MyOperator Desktop"
PROG_ID_BASE = "MyOperatorDesktop"
#: Windows finds an installed copy by it: changing it orphans every install out there.
APP_ID = "{{3082684C-D164-4262-AE81-02FFE06C9FFC}"
#: What a clicked link runs (Inno's doubled quotes already undone).
OPEN_COMMAND = '"{app}\\myoperator-desktop.exe" "%1"'
RUN_KEY = "Software\\Microsoft\\Windows\\CurrentVersion\\Run"
CAPABILITIES = f"Software\\{PROG_ID_BASE}\\Capabilities"
#: The oldest macOS each Qt minor runs on (doc.qt.io/qt-6.<minor>/macos.html).
QT_MACOS_MINIMUM = {(6, 10): (13, 0), (6, 11): (13, 0)}


@cache
def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def project_version() -> str:
    version = pyproject()["project"]["version"]
    assert isinstance(version, str)
    return version


# ---------------------------------------------------------------------- Info.plist


@cache
def plist() -> dict[str, Any]:
    with PLIST.open("rb") as f:
        data = plistlib.load(f)
    assert isinstance(data, dict)
    return data


def test_the_plist_names_the_bundle_and_its_executable() -> None:
    info = plist()
    assert info["CFBundleIdentifier"] == "com.myoperator.Desktop"
    assert info["CFBundleName"] == info["CFBundleDisplayName"] == APP_NAME
    assert info["CFBundlePackageType"] == "APPL"
    # The executable is the GUI entry point the project declares.
    assert info["CFBundleExecutable"] in pyproject()["project"]["gui-scripts"]
    assert info["CFBundleExecutable"] == "myoperator-desktop"
    assert info["CFBundleIconFile"].startswith("myoperator-desktop")


def test_the_plist_versions_are_the_projects() -> None:
    info = plist()
    assert info["CFBundleShortVersionString"] == project_version()
    assert info["CFBundleVersion"] == project_version()


def test_the_plist_declares_tel_and_callto_as_a_viewer() -> None:
    url_types = plist()["CFBundleURLTypes"]
    schemes = [scheme for entry in url_types for scheme in entry["CFBundleURLSchemes"]]
    assert sorted(schemes) == sorted(SCHEMES)
    for entry in url_types:
        assert entry["CFBundleURLName"].startswith("com.myoperator.Desktop")
        assert entry["CFBundleTypeRole"] == "Viewer"  # shows the number, dials only when asked
    names = [entry["CFBundleURLName"] for entry in url_types]
    assert len(set(names)) == len(names)


def test_the_plist_asks_for_nothing_the_app_does_not_use() -> None:
    info = plist()
    assert info["NSHighResolutionCapable"] is True
    assert info["LSApplicationCategoryType"] == "public.app-category.business"
    # The app plays recordings and never records: no microphone prompt.
    assert "NSMicrophoneUsageDescription" not in info


def locked_version(package: str) -> tuple[int, ...]:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(package)}==([\d.]+)", text, re.MULTILINE)
    assert found, f"{package} is not in requirements.lock"
    return tuple(int(part) for part in found.group(1).split("."))


def test_the_plist_minimum_macos_is_the_locked_qts() -> None:
    """A Mac older than Qt supports is refused by Finder with a message, instead of
    starting an app that crashes."""
    qt = locked_version("pyside6-essentials")[:2]
    assert qt in QT_MACOS_MINIMUM, (
        f"Qt {qt[0]}.{qt[1]} is locked: add its oldest macOS (doc.qt.io/qt-6/macos.html) "
        "to QT_MACOS_MINIMUM and LSMinimumSystemVersion"
    )
    minimum = tuple(int(p) for p in plist()["LSMinimumSystemVersion"].split("."))
    assert minimum == QT_MACOS_MINIMUM[qt]


# ------------------------------------------------------------- Inno Setup script


def iss_text() -> str:
    return ISS.read_text(encoding="ascii")  # Inno reads a BOM-less script as ANSI


def iss_sections(text: str) -> dict[str, list[str]]:
    """Each section's lines, without blanks, comments and preprocessor directives."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)
    return sections


_STRING = r'"(?:[^"]|"")*"'


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


def iss_defines(text: str) -> dict[str, str]:
    """``#define Name <expr>`` where the expression joins string literals and earlier
    defines with ``+``; others (``AddBackslash(SourcePath)``…) are left out."""
    defines: dict[str, str] = {}
    for match in re.finditer(r"^\s*#define\s+(\w+)\s+(.+?)\s*$", text, re.MULTILINE):
        name, expression = match.groups()
        parts = re.findall(rf"{_STRING}|[^+\s]+", expression)
        values: list[str] = []
        for part in parts:
            if part.startswith('"'):
                values.append(_unquote(part))
            elif part in defines:
                values.append(defines[part])
            else:
                break
        else:
            defines[name] = "".join(values)
    return defines


def expand(value: str, defines: dict[str, str]) -> str:
    """``{#Name}`` replaced by its define; one `iss_defines` cannot evaluate stays as is."""
    return re.sub(r"\{#(\w+)\}", lambda m: defines.get(m.group(1), m.group(0)), value)


def iss_entry(line: str, defines: dict[str, str]) -> dict[str, str]:
    """One ``Name: value; Name: "value"`` line as a dict, quotes undone, defines expanded."""
    entry: dict[str, str] = {}
    for match in re.finditer(rf'(\w+):\s*({_STRING}|[^;]*)\s*(?:;|$)', line):
        entry[match.group(1)] = expand(_unquote(match.group(2)), defines)
    return entry


def iss_setup(text: str) -> dict[str, str]:
    defines = iss_defines(text)
    return {
        key.strip(): expand(value.strip(), defines)
        for key, _, value in (line.partition("=") for line in iss_sections(text)["Setup"])
    }


def iss_entries(section: str) -> list[dict[str, str]]:
    text = iss_text()
    defines = iss_defines(text)
    return [iss_entry(line, defines) for line in iss_sections(text)[section]]


def registry() -> list[dict[str, str]]:
    return iss_entries("Registry")


def values_under(subkey: str) -> dict[str, dict[str, str]]:
    """The values the script writes in one key, by value name (``""``: the default)."""
    return {
        e["ValueName"]: e
        for e in registry()
        if e["Subkey"].lower() == subkey.lower() and e.get("ValueType") != "none"
    }


def flags(entry: dict[str, str]) -> set[str]:
    return set(entry.get("Flags", "").lower().split())


def test_the_entry_parser_reads_inno_quoting() -> None:
    entry = iss_entry(
        'Root: HKCU; Subkey: "A\\{#X}"; ValueData: """{app}\\a.exe"" ""%1"""; Flags: f g',
        {"X": "b"},
    )
    assert entry == {
        "Root": "HKCU", "Subkey": "A\\b", "ValueData": '"{app}\\a.exe" "%1"', "Flags": "f g"
    }


def test_the_script_version_is_the_projects() -> None:
    text = iss_text()
    assert iss_defines(text)["AppVersion"] == project_version()
    setup = iss_setup(text)
    assert setup["AppVersion"] == project_version()
    assert setup["VersionInfoVersion"] == project_version()


def test_the_script_installs_per_user_and_touches_no_machine_wide_key() -> None:
    text = iss_text()
    setup = iss_setup(text)
    assert setup["PrivilegesRequired"] == "lowest"
    # No dialog that would let an install go machine-wide (and into the admin's HKCU).
    assert "PrivilegesRequiredOverridesAllowed" not in setup
    assert setup["DefaultDirName"].startswith(("{autopf}", "{localappdata}", "{userpf}"))
    assert setup["AppId"] == APP_ID
    entries = registry()
    assert entries and all(e["Root"] == "HKCU" for e in entries)
    script = "\n".join(line for lines in iss_sections(text).values() for line in lines)
    assert not re.search(r"\bHK(LM|EY_LOCAL_MACHINE|A|CR|U)\b", script)  # comments aside


def test_the_script_takes_the_one_folder_bundle() -> None:
    text = iss_text()
    assert re.search(r'#define BundleDir .*"\.\.\\\.\.\\dist\\myoperator-desktop"', text)
    assert "#ifndef BundleDir" in text  # overridable with ISCC /DBundleDir=…
    files = iss_entries("Files")
    assert [f["Source"] for f in files] == ["{#BundleDir}\\*"]
    assert {"recursesubdirs", "createallsubdirs"} <= flags(files[0])  # _internal\ too


def test_the_script_closes_a_running_app_first() -> None:
    assert iss_setup(iss_text())["CloseApplications"] == "yes"


def test_the_setup_icon_is_used_only_where_it_exists() -> None:
    lines = [line.strip() for line in iss_text().splitlines()]
    at = next(i for i, line in enumerate(lines) if line.startswith("SetupIconFile="))
    opened = max(i for i in range(at) if lines[i].startswith("#if"))
    assert lines[opened].startswith(("#ifexist", "#ifdef"))
    assert not any(line.startswith("#endif") for line in lines[opened:at])


def test_the_start_menu_entry_and_an_optional_desktop_icon() -> None:
    icons = iss_entries("Icons")
    start_menu = [i for i in icons if i["Name"].startswith("{autoprograms}")]
    assert len(start_menu) == 1 and "Tasks" not in start_menu[0]
    assert start_menu[0]["Filename"] == "{app}\\myoperator-desktop.exe"
    desktop = [i for i in icons if i["Name"].startswith("{autodesktop}")]
    assert len(desktop) == 1 and desktop[0]["Tasks"] == "desktopicon"
    tasks = {t["Name"]: t for t in iss_entries("Tasks")}
    assert "unchecked" in flags(tasks["desktopicon"])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_scheme_is_a_url_protocol_that_opens_the_app(scheme: str) -> None:
    for key in (f"Software\\Classes\\{scheme}", f"Software\\Classes\\{PROG_ID_BASE}.{scheme}"):
        values = values_under(key)
        assert values["URL Protocol"]["ValueData"] == ""
        assert values[""]["ValueData"]  # the protocol's name
        icon = values_under(key + "\\DefaultIcon")[""]["ValueData"]
        assert icon.startswith("{app}\\myoperator-desktop.exe")
        command = values_under(key + "\\shell\\open\\command")[""]["ValueData"]
        assert command == OPEN_COMMAND


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_scheme_is_offered_in_default_apps(scheme: str) -> None:
    capabilities = values_under(CAPABILITIES)
    assert capabilities["ApplicationName"]["ValueData"] == APP_NAME
    assert capabilities["ApplicationDescription"]["ValueData"]
    associations = values_under(CAPABILITIES + "\\URLAssociations")
    assert associations[scheme]["ValueData"] == f"{PROG_ID_BASE}.{scheme}"
    registered = values_under("Software\\RegisteredApplications")
    assert registered[APP_NAME]["ValueData"] == CAPABILITIES


def test_start_at_login_is_written_only_for_its_task() -> None:
    tasks = {t["Name"]: t for t in iss_entries("Tasks")}
    assert tasks["startatlogin"]["Description"] == f"Start {APP_NAME} when I log in"
    assert "unchecked" in flags(tasks["startatlogin"])
    run = [e for e in registry() if e["Subkey"] == RUN_KEY]
    assert run and all("Tasks" in e for e in run)
    written = [e for e in run if e["ValueType"] != "none"]
    assert [e["Tasks"] for e in written] == ["startatlogin"]
    assert written[0]["ValueName"] == APP_NAME
    assert written[0]["ValueData"] == '"{app}\\myoperator-desktop.exe"'
    # Installed again with the box unticked: the old value goes.
    removed = [e for e in run if e["ValueType"] == "none"]
    assert [e["Tasks"] for e in removed] == ["not startatlogin"]
    assert "deletevalue" in flags(removed[0])


def shared(subkey: str) -> bool:
    """Keys other apps write into too: uninstall must take only its own values out."""
    lower = subkey.lower()
    return lower in {"software\\registeredapplications", RUN_KEY.lower()} or any(
        lower == f"software\\classes\\{s}" or lower.startswith(f"software\\classes\\{s}\\")
        for s in SCHEMES
    )


def registry_cases() -> list[Any]:
    return [
        pytest.param(entry, id=f"{entry['Subkey']}:{entry.get('ValueName', '')}")
        for entry in registry()
    ]


@pytest.mark.parametrize("entry", registry_cases())
def test_uninstall_removes_every_registry_entry(entry: dict[str, str]) -> None:
    marks = flags(entry)
    assert marks & {"uninsdeletekey", "uninsdeletevalue", "uninsdeletekeyifempty"}
    if shared(entry["Subkey"]):
        assert "uninsdeletekey" not in marks  # never another app's whole key
        if entry.get("ValueType") != "none":
            assert "uninsdeletevalue" in marks
    else:
        assert entry["Subkey"].startswith(
            (f"Software\\Classes\\{PROG_ID_BASE}.", f"Software\\{PROG_ID_BASE}")
        )
        assert "uninsdeletekey" in marks  # the app's own keys go whole


def test_the_shared_protocol_keys_left_empty_are_removed_children_first() -> None:
    """Inno undoes registry entries in reverse order: a key's line must come before its
    subkeys' so that, at uninstall, the subkeys are gone when it is checked for empty."""
    for scheme in SCHEMES:
        base = f"Software\\Classes\\{scheme}"
        keys = [e["Subkey"] for e in registry() if e["Subkey"].startswith(base)]
        first_seen = list(dict.fromkeys(keys))
        for key in first_seen:
            parent = key.rpartition("\\")[0]
            if parent.startswith(base):
                assert parent in first_seen[: first_seen.index(key)], key
        for key in first_seen:
            assert all(
                "uninsdeletekeyifempty" in flags(e) for e in registry() if e["Subkey"] == key
            )


def test_the_script_is_ascii_with_every_define_it_uses() -> None:
    text = iss_text()  # raises on a non-ASCII character
    names = set(re.findall(r"\{#(\w+)", text))
    defined = set(re.findall(r"#define\s+(\w+)", text))
    assert names - {"StringChange"} <= defined
