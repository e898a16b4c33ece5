#!/usr/bin/env bash
# The real-app end-to-end test: the built Baton binary against the demo shared mailbox,
# under Xvfb, with passwords in a real Secret Service (gnome-keyring in a private D-Bus
# session), driven by tauri-driver + WebKitWebDriver. Screenshots go to test-output/e2e/.
#
# Expects the app (feature custom-protocol) and baton-demo to be built; scripts/test.sh
# does that.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$BATON_ROOT"

if [ -z "${BATON_E2E_INSIDE:-}" ]; then
  export BATON_E2E_INSIDE=1
  exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$0" "$@"
fi

work=$(mktemp -d /tmp/baton-e2e-XXXXXX)
# Dovecot's unprivileged processes (when run as root) must be able to reach the mailbox.
chmod 755 "$work"
out="$BATON_ROOT/test-output/e2e"
mkdir -p "$out"
demo="$CARGO_TARGET_DIR/debug/baton-demo"
driver_pid=""
cleanup() {
  [ -n "$driver_pid" ] && kill "$driver_pid" 2>/dev/null || true
  "$demo" down --dir "$work/demo" || true
  rm -rf "$work"
}
trap cleanup EXIT

# The keyring's files stay in the test directory, never in the user's.
export XDG_DATA_HOME="$work/xdg"
mkdir -p "$XDG_DATA_HOME"
printf 'e2e' | gnome-keyring-daemon --unlock --components=secrets >/dev/null

"$demo" up --dir "$work/demo" > "$work/demo.txt"
export BATON_DATA_DIR="$work/demo/app"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
native=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tauri-driver --port "$port" --native-port "$native" --native-driver /usr/bin/WebKitWebDriver > "$out/tauri-driver.log" 2>&1 &
driver_pid=$!
for _ in $(seq 1 100); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

BATON_DEMO="$demo" \
BATON_DEMO_DIR="$work/demo" \
BATON_WEBDRIVER="http://127.0.0.1:$port" \
BATON_APP="$CARGO_TARGET_DIR/debug/baton" \
BATON_E2E_OUT="$out" \
  node --test --test-reporter=spec e2e/real-app.mjs
