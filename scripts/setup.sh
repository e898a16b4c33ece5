#!/usr/bin/env bash
# Everything the build, the demo and the tests need on a Debian/Ubuntu machine:
# system packages, the UI's npm packages and tauri-driver. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$BATON_ROOT"

"$BATON_ROOT/scripts/install-deps.sh"

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it from https://rustup.rs (the project builds with Rust 1.95)." >&2
  exit 1
fi
if ! command -v npm >/dev/null; then
  echo "Node.js and npm are missing: install Node 20 or newer." >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
stamp=ui/node_modules/.baton-lock
if [ ! -f "$stamp" ] || ! cmp -s ui/package-lock.json "$stamp"; then
  (cd ui && npm ci --no-audit --no-fund)
  cp ui/package-lock.json "$stamp"
fi

if ! command -v tauri-driver >/dev/null; then
  cargo install tauri-driver --locked --version '^2'
fi
