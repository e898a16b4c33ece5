#!/usr/bin/env bash
# Installs the Debian packages Baton needs to build, run its demo and run every test.
# Safe to run again: it only calls apt when something is missing (a warm machine skips it).
set -euo pipefail

packages=(
  # build the desktop app (Tauri 2 on WebKitGTK)
  build-essential pkg-config curl wget file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev
  # real servers for the demo mailbox and the tests
  dovecot-imapd dovecot-lmtpd postfix
  # browser and real-app tests, screenshots
  xvfb xauth webkit2gtk-driver chromium chromium-driver imagemagick xdotool dbus-x11
  x11-utils at-spi2-core
  # OS credential store (Secret Service) for the running app
  gnome-keyring libsecret-1-0
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "Installing: ${missing[*]}"
  # Postfix asks a question on install; preseed it so CI without a terminal works.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo_cmd debconf-set-selections
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
