#!/usr/bin/env bash
# Sets up whatever is missing, then runs every test: lint, the engine's unit and
# integration tests against a real Dovecot, the UI in headless Chromium, and the real app
# end to end under Xvfb. CI (.ci/run) runs exactly this.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$BATON_ROOT"

step() { printf '\n==== %s\n' "$*"; }

step "setup"
./scripts/setup.sh
step "build the UI"
(cd ui && npm run --silent build)
step "lint"
./scripts/lint.sh
step "Rust tests (unit, integration on real Dovecot, bindings drift)"
cargo test --workspace --no-fail-fast
step "UI tests in Chromium"
(cd ui && npm test)
step "build the app and the demo mailbox"
cargo build -p baton-desktop --features custom-protocol
cargo build -p baton --bin baton-demo
step "real app end to end"
./e2e/run.sh
step "all tests passed"
