#!/usr/bin/env bash
# Installs the Debian/Ubuntu libraries Qt (xcb, multimedia) needs, and the headless Secret
# Service the keyring tests run against (gnome-keyring on a private dbus-daemon), and the Redis
# server the team relay's tests start (each on its own socket; the system's service is not
# used), only when some are missing.
# As root it uses apt-get; with passwordless sudo it uses sudo; otherwise it prints the command.
# `system-deps.sh packaging` adds what `make package` and `make package-test` need: binutils
# (objdump, for the bundle's library list), the desktop-entry and AppStream validators, and
# xdg-utils (xdg-mime, xdg-open).
set -euo pipefail

packages=(
  libpulse0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3
  xvfb xdotool
  gnome-keyring dbus-daemon
  redis-server
)
if [ "${1:-}" = "packaging" ]; then
  packages+=(binutils desktop-file-utils appstream xdg-utils)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian/Ubuntu system; make sure Qt 6's xcb and multimedia libraries are installed." >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

command_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
echo "system-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo -n env DEBIAN_FRONTEND=noninteractive sh -c "$command_line"
else
  echo "system-deps: these system libraries are missing. Run this once, then try again:" >&2
  echo "  sudo sh -c '$command_line'" >&2
  exit 1
fi
