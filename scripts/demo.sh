#!/usr/bin/env bash
# Sets up what is missing, builds Baton, starts the demo shared mailbox (a private
# Dovecot on loopback with a realistic support mailbox) and opens Baton as Anna.
# The second member's login is printed so a second window can join.
#
#   scripts/demo.sh               open Baton as anna
#   scripts/demo.sh --member bram open a second window as bram (mailbox already up)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$BATON_ROOT"

member=anna
[ "${1:-}" = "--member" ] && member="${2:?--member needs a name}"
# As root, Dovecot's unprivileged processes cannot enter /root: keep the demo in /var/tmp.
if [ "$(id -u)" = 0 ]; then default_dir=/var/tmp/baton-demo; else default_dir="$HOME/.local/share/baton-demo"; fi
demo_dir="${BATON_DEMO_DIR:-$default_dir}"

if [ -z "${BATON_DEMO_INSIDE:-}" ]; then
  ./scripts/setup.sh
  (cd ui && npm run --silent build)
  cargo build -p baton-desktop --features custom-protocol
  cargo build -p baton --bin baton-demo
  export BATON_DEMO_INSIDE=1
  # Passwords go to the system's Secret Service. A desktop session has one; a bare
  # machine gets a private D-Bus session with an unlocked gnome-keyring.
  if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    export BATON_DEMO_OWN_KEYRING=1
    exec dbus-run-session -- "$0" "$@"
  fi
fi

if [ -n "${BATON_DEMO_OWN_KEYRING:-}" ]; then
  export XDG_DATA_HOME="$demo_dir/keyring"
  mkdir -p "$XDG_DATA_HOME"
  printf 'baton-demo' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
fi

demo="$CARGO_TARGET_DIR/debug/baton-demo"
app="$CARGO_TARGET_DIR/debug/baton"
"$demo" up --dir "$demo_dir"
export BATON_DATA_DIR="$demo_dir/app"

cat <<EOT

Baton opens as $member. To let a second member join, open another terminal and run:

    BATON_DEMO_DIR="$demo_dir" scripts/demo.sh --member bram

(or set up any Baton with the login above: server 127.0.0.1, the port shown, TLS, and
the CA file $demo_dir/dovecot/tls/ca.pem). Stop the mailbox with:
$demo down --dir "$demo_dir"
EOT

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  # No screen: run under Xvfb for a while and leave a screenshot to look at.
  shot="$BATON_ROOT/test-output/demo.png"
  mkdir -p "$(dirname "$shot")"
  echo "No display found: running Baton under Xvfb for 40 s; screenshot: $shot"
  xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" bash -c \
    "'$app' --profile '$member' & pid=\$!; sleep 40; import -window root '$shot'; kill \$pid"
else
  "$app" --profile "$member"
fi
