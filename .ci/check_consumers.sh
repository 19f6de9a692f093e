#!/usr/bin/env bash
# The ways users take ms_utils, each built for real in a throwaway service
# whose src/main.rs is a copy of examples/gateway_consumer.rs (the
# copy-the-example way: it needs ms_utils with its default features and
# nothing else, no `test-util`):
#  - as a git submodule with a path dependency (ms_utils = { path = "ms_utils/ms_utils" });
#  - as a git dependency on this repository at its current commit
#    (ms_utils = { git = "file://...", rev = "..." }: offline, as a user's
#    `git = "https://..."` would fetch it);
#  - the crates.io way is checked by `cargo package --workspace --exclude ms_utils_examples`
#    (with verification: the packaged crates build alone) in .ci/run and .gitlab-ci.yml.
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
ms_utils = { path = "ms_utils/ms_utils" }

# A service that is a workspace of its own must keep the submodule's workspace
# out of it (path dependencies under a workspace root otherwise become members).
[workspace]
exclude = ["ms_utils"]
TOML
# The example and the lock file of that same commit.
cp ms_utils/examples/gateway_consumer.rs src/main.rs
# The versions ms_utils was tested with: its Cargo.lock, which cargo completes
# with this service's own entry (and prunes of what the service does not use)
# without resolving anything anew; that is checked, and the build is --locked.
cp ms_utils/Cargo.lock Cargo.lock
pairs() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | sort -u; }
same_versions() {
    cargo metadata --format-version 1 >/dev/null
    local unexpected
    unexpected="$(comm -23 <(pairs Cargo.lock) <(pairs "$repo/Cargo.lock") | grep -v '^"svc" ' || true)"
    if [ -n "$unexpected" ]; then
        echo "the service resolved versions that are not in ms_utils' Cargo.lock:" >&2
        echo "$unexpected" >&2
        exit 1
    fi
}
same_versions
cargo build --quiet --locked
echo "consumer built from a submodule path dependency with the copied example: ok"

# The same service with a git dependency on this repository's commit.
git_svc="$tmp/git_svc"
mkdir -p "$git_svc/src"
cd "$git_svc"
rev="$(git -C "$repo" rev-parse HEAD)"
cat > Cargo.toml <<TOML
[package]
name = "svc"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[dependencies]
ms_utils = { git = "file://$repo", rev = "$rev" }

[workspace]
TOML
cp "$repo/examples/gateway_consumer.rs" src/main.rs
cp "$repo/Cargo.lock" Cargo.lock
same_versions
cargo build --quiet --locked
echo "consumer built from a git dependency with the copied example: ok"
