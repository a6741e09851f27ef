#!/bin/sh
# Copy a Cargo workspace's dependency-relevant files into an empty tree, with a
# stand-in for every crate entry point, so `cargo build` there compiles only the
# dependencies. The Dockerfile builds that tree in its own layer: the layer is
# reused for as long as no Cargo.toml / Cargo.lock changes, whatever the sources do.
#
# Usage: cargo-skeleton.sh SOURCE_DIR OUT_DIR
#
# It discovers crates by their Cargo.toml instead of naming them, so workspace
# members that do not exist yet (loadtest/) or are added later need no change here.
set -eu

src=${1:?usage: cargo-skeleton.sh SOURCE_DIR OUT_DIR}
out=${2:?usage: cargo-skeleton.sh SOURCE_DIR OUT_DIR}
cd "$src"
mkdir -p "$out"

# Workspace-wide files that change how the dependency graph is resolved or built.
for f in Cargo.lock rust-toolchain rust-toolchain.toml .cargo/config.toml .cargo/config; do
    if [ -f "$f" ]; then
        mkdir -p "$out/$(dirname "$f")"
        cp "$f" "$out/$f"
    fi
done

find . \( -name target -o -name node_modules -o -name .git \) -prune -o \
    -name Cargo.toml -type f -print |
while read -r manifest; do
    dir=$(dirname "$manifest")
    mkdir -p "$out/$dir"
    cp "$manifest" "$out/$dir/Cargo.toml"
    # Mirror the entry points that exist, and only those: an extra lib.rs would
    # add a target the real crate does not have.
    for entry in "$dir/src/main.rs" "$dir/build.rs" "$dir"/src/bin/*.rs "$dir"/src/bin/*/main.rs; do
        if [ -f "$entry" ]; then
            mkdir -p "$out/$(dirname "$entry")"
            echo 'fn main() {}' > "$out/$entry"
        fi
    done
    if [ -f "$dir/src/lib.rs" ]; then
        mkdir -p "$out/$dir/src"
        : > "$out/$dir/src/lib.rs"
    fi
done
