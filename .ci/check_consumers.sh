#!/usr/bin/env bash
# The ways users take ms_utils, each built for real in a throwaway service:
#  - as a git submodule with a path dependency (ms_utils = { path = "ms_utils/ms_utils" }),
#    whose src/main.rs is a copy of examples/gateway_consumer.rs (the copy-the-example way);
#  - the crates.io way is checked by `cargo package --workspace --exclude ms_utils_examples`
#    in .gitlab-ci.yml (the packaged crates build alone), not here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

svc="$tmp/svc"
mkdir -p "$svc/src"
cd "$svc"
git init -q
git config user.email ci@example.invalid
git config user.name ci
# A submodule of this repository at its current commit, as a user would add it.
git -c protocol.file.allow=always submodule --quiet add "$repo" ms_utils
git -C ms_utils checkout -q "$(git -C "$repo" rev-parse HEAD)"

cat > Cargo.toml <<'TOML'
[package]
name = "svc"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

# Nothing but ms_utils: the copied example must build with this alone.
[dependencies]
ms_utils = { path = "ms_utils/ms_utils", features = ["test-util"] }

# A service that is a workspace of its own must keep the submodule's workspace
# out of it (path dependencies under a workspace root otherwise become members).
[workspace]
exclude = ["ms_utils"]
TOML
cp "$repo/examples/gateway_consumer.rs" src/main.rs
# The versions ms_utils was tested with.
cp "$repo/Cargo.lock" Cargo.lock

cargo build --quiet
echo "consumer built from a submodule path dependency with the copied example: ok"
