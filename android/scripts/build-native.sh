#!/usr/bin/env bash
# Builds libdoorstep_ffi.so for each Android ABI into app/src/main/jniLibs and generates the Kotlin
# bindings from the built library into bindings/build/generated/uniffi. NEVER RUN HERE (no NDK).
# Needs: the Android NDK r27 or newer (ANDROID_NDK_HOME), `cargo install cargo-ndk`, and the Rust
# targets: rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android.
# SQLCipher on a phone links an OpenSSL built from source (feature vendored-openssl; needs perl).
# `--host` also builds the host library, server, proxy and fixtures for `./gradlew :field:test`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the NDK (Android Studio: SDK Manager → NDK)}"
cargo ndk --platform 26 -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$here/app/src/main/jniLibs" \
  build --release -p doorstep-ffi --features vendored-openssl
cargo build --release -p doorstep-ffi --bin uniffi-bindgen
out="$here/bindings/build/generated/uniffi"
rm -rf "$out" && mkdir -p "$out"
target/release/uniffi-bindgen generate --library "$here/app/src/main/jniLibs/arm64-v8a/libdoorstep_ffi.so" \
  --language kotlin --out-dir "$out"
if [ "${1:-}" = "--host" ]; then
  cargo build --workspace --all-targets
  mkdir -p "$here/field/build"
  target/debug/doorstep-fixture kt 120 "$here/field/build/turf-kt.json"
  target/debug/doorstep-fixture kv 60 "$here/field/build/turf-kv.json" --voters
fi
echo "native libraries in app/src/main/jniLibs, bindings in $out"
