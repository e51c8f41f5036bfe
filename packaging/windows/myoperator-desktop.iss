; MyOperator Desktop: the Windows installer (Inno Setup 6.3 or newer).
;
; Packs the PyInstaller one-folder bundle (dist\myoperator-desktop: myoperator-desktop.exe,
; myoperator.exe and _internal\) into a per-user setup that needs no administrator: it
; installs under %LOCALAPPDATA%\Programs, adds a Start-menu entry, registers the app for
; tel: and callto: links (and in Settings > Default apps), optionally starts it at log-in,
; and its uninstaller removes everything it wrote.
;
;   iscc packaging\windows\myoperator-desktop.iss
;   iscc /DBundleDir=C:\build\dist\myoperator-desktop /DAppVersion=0.1.0 ^
;        packaging\windows\myoperator-desktop.iss
;
; Cannot be compiled on the Linux build machine: tests/unit/packaging checks it as text
; (per-user, both protocols, Default-apps capabilities, uninstall flags, the version).
; Kept ASCII-only: Inno reads a script without a BOM in the system code page.

#ifndef AppVersion
  ; The release's version: must equal pyproject.toml's [project].version (a test checks).
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  ; Absolute, so the script compiles from any working directory.
  #define BundleDir AddBackslash(SourcePath) + "..\..\dist\myoperator-desktop"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile AddBackslash(SourcePath) + "..\icons\myoperator-desktop.ico"
#endif

#define AppName "MyOperator Desktop"
#define AppExe "myoperator-desktop.exe"
; The base of the ProgIds and of the Capabilities key (one name for everything Windows
; lists), and the shortcuts' AppUserModelID, so the taskbar groups the app's windows with
; its pinned shortcut.
#define ProgIdBase "MyOperatorDesktop"
#define CapabilitiesKey "Software\" + ProgIdBase + "\Capabilities"
#define AppIcon "{app}\" + AppExe + ",0"

[Setup]
; Never change the AppId: Windows finds an installed copy (upgrade, uninstall) by it.
; The doubled brace escapes Inno's constant syntax.
AppId={{3082684C-D164-4262-AE81-02FFE06C9FFC}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
VersionInfoVersion={#AppVersion}
; Per user, no UAC prompt: the protocols and the Run entry live in HKCU, which an
; elevated install would write into the administrator's hive instead of the agent's.
PrivilegesRequired=lowest
; With lowest privileges {autopf} is %LOCALAPPDATA%\Programs and {autoprograms} the
; user's own Start menu.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Qt 6 runs on 64-bit Windows 10 1809 and newer only (x64compatible: ARM64 emulates it).
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir={#OutputDir}
OutputBaseFilename=myoperator-desktop-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName={#AppName}
UninstallDisplayIcon={app}\{#AppExe}
; The app makes no named mutex (AppMutex is not available): the Restart Manager finds the
; running app by the files it holds open and offers to close it before files are replaced.
CloseApplications=yes
; The app does not register with RegisterApplicationRestart, so Setup could not restart
; it; the [Run] entry offers to start it instead.
RestartApplications=no
; Tells Explorer (SHChangeNotify) that protocol handlers changed, at install and uninstall.
ChangesAssociations=yes
SetupLogging=yes
#ifexist IconFile
SetupIconFile={#IconFile}
#else
  ; The .ico is rendered from packaging/icons/myoperator-desktop.svg (render_icons.py);
  ; built from a tree without it, the setup shows Inno's own icon.
  #pragma warning "No " + IconFile + ": the setup program gets Inno Setup's default icon"
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
; Off unless chosen: an agent who wants it ticks it once; UsePreviousTasks (the default)
; keeps the choice on upgrades.
Name: "startatlogin"; Description: "Start {#AppName} when I log in"; GroupDescription: "Other:"; Flags: unchecked

[Files]
; The whole one-folder bundle: both executables share _internal\.
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; AppUserModelID: "{#ProgIdBase}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; AppUserModelID: "{#ProgIdBase}"; Tasks: desktopicon

[Registry]
; All under HKCU: per user, like the install. Uninstall flags on every line.
;
; -- tel: and callto: as URL protocols (HKCU\Software\Classes is this user's part of HKCR).
; These two keys are shared: another phone app may write into the same ones. Uninstall
; therefore removes the values this script wrote and then only the keys left empty
; (uninsdeletekeyifempty), never the whole key (Inno removes entries in reverse order, so
; children go before their parents). A key Windows finds with "URL Protocol" and a
; shell\open\command runs that command for a link when the user has not picked another
; handler in Default apps. The command passes the link as one quoted argument ("%1"; Inno
; doubles quotes inside a parameter); a running app takes it over through its
; single-instance socket.
Root: HKCU; Subkey: "Software\Classes\tel"; ValueType: string; ValueName: ""; ValueData: "URL:tel"; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\tel"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\tel\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{#AppIcon}"; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\tel\shell"; ValueType: none; Flags: uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\tel\shell\open"; ValueType: none; Flags: uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\tel\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\callto"; ValueType: string; ValueName: ""; ValueData: "URL:callto"; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\callto"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\callto\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{#AppIcon}"; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\callto\shell"; ValueType: none; Flags: uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\callto\shell\open"; ValueType: none; Flags: uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\Classes\callto\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Flags: uninsdeletevalue uninsdeletekeyifempty
;
; -- The app's own ProgIds, which Default apps associates a scheme with once the user picks
; the app there (Windows 8+ keeps that choice in a hashed UserChoice no installer may write).
; Ours alone: removed whole.
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.tel"; ValueType: string; ValueName: ""; ValueData: "{#AppName} tel link"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.tel"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.tel\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{#AppIcon}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.tel\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.callto"; ValueType: string; ValueName: ""; ValueData: "{#AppName} callto link"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.callto"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.callto\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{#AppIcon}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgIdBase}.callto\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Flags: uninsdeletekey
;
; -- Capabilities + RegisteredApplications: what makes the app appear in Settings > Default
; apps as a choice for tel and callto. The app keeps nothing of its own under
; Software\MyOperatorDesktop (its settings are INI files), so the key is removed whole.
Root: HKCU; Subkey: "Software\{#ProgIdBase}"; ValueType: none; Flags: uninsdeletekey
Root: HKCU; Subkey: "{#CapabilitiesKey}"; ValueType: string; ValueName: "ApplicationName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "{#CapabilitiesKey}"; ValueType: string; ValueName: "ApplicationDescription"; ValueData: "Call log, recordings and click-to-call for MyOperator"; Flags: uninsdeletekey
Root: HKCU; Subkey: "{#CapabilitiesKey}"; ValueType: string; ValueName: "ApplicationIcon"; ValueData: "{#AppIcon}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "{#CapabilitiesKey}\URLAssociations"; ValueType: string; ValueName: "tel"; ValueData: "{#ProgIdBase}.tel"; Flags: uninsdeletekey
Root: HKCU; Subkey: "{#CapabilitiesKey}\URLAssociations"; ValueType: string; ValueName: "callto"; ValueData: "{#ProgIdBase}.callto"; Flags: uninsdeletekey
; A shared key (every app's entry is a value in it): only our value goes.
Root: HKCU; Subkey: "Software\RegisteredApplications"; ValueType: string; ValueName: "{#AppName}"; ValueData: "{#CapabilitiesKey}"; Flags: uninsdeletevalue
;
; -- Start at log-in, only when the task is ticked. The value's name is the app's name, the
; one the app's own start-at-login setting would use on Windows.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"""; Flags: uninsdeletevalue; Tasks: startatlogin
; Re-installed with the box unticked: remove the value an earlier install wrote (ValueType
; none with deletevalue deletes without writing).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "{#AppName}"; Flags: deletevalue uninsdeletevalue; Tasks: not startatlogin

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#StringChange(AppName, '&', '&&')}}"; Flags: nowait postinstall skipifsilent

; Not removed on uninstall, on purpose: the user's settings, cache, recordings and logs
; (under %LOCALAPPDATA%\MyOperator Desktop and the roaming config dir) and the token in
; Windows Credential Manager. They are the agent's data, and a reinstall picks them up.
