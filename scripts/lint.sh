#!/usr/bin/env bash
# The one lint command people and CI run: formatting, clippy with warnings as errors, the
# TypeScript/Svelte checker, and the generated bindings.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$BATON_ROOT"

echo "== rustfmt"
cargo fmt --all -- --check
echo "== ui: svelte-check"
(cd ui && npm run --silent check)
# The shell embeds the built UI, so clippy on the workspace needs ui/dist.
[ -f ui/dist/index.html ] || (cd ui && npm run --silent build)
echo "== import cycles (files and top-level modules of the engine)"
python3 scripts/import-cycles.py
echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "lint: ok"
