#!/usr/bin/env bash
# Regenerates ui/src/lib/bindings.ts from the Rust types that cross the IPC boundary.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$BATON_ROOT"
BATON_WRITE_BINDINGS=1 cargo test -q -p baton --lib bindings:: >/dev/null
echo "wrote ui/src/lib/bindings.ts"
