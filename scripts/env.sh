# Sourced by the other scripts: one place for the build cache and tool paths.
# The build cache lives outside the clone so CI and fresh checkouts reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baton/target}"
export PATH="$HOME/.cargo/bin:$PATH"
BATON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BATON_ROOT
