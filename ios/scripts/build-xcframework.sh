#!/usr/bin/env bash
# Builds DoorstepFFI.xcframework (device + simulator) from ffi/ and generates the Swift bindings.
# NEVER RUN HERE (needs macOS with Xcode 15+). Needs the Rust targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# SQLCipher links an OpenSSL built from source (feature vendored-openssl).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --release -p doorstep-ffi --lib --features vendored-openssl --target "$t"
done
cargo build --release -p doorstep-ffi --bin uniffi-bindgen
gen="$here/build/generated"
rm -rf "$gen" && mkdir -p "$gen/headers"
target/release/uniffi-bindgen generate --library target/aarch64-apple-ios/release/libdoorstep_ffi.a \
  --language swift --out-dir "$gen"
mv "$gen"/*.h "$gen/headers/"
cat "$gen"/*.modulemap > "$gen/headers/module.modulemap" && rm "$gen"/*.modulemap
cp "$gen"/*.swift "$here/Sources/DoorstepBindings/"
mkdir -p target/ios-sim
lipo -create target/aarch64-apple-ios-sim/release/libdoorstep_ffi.a target/x86_64-apple-ios/release/libdoorstep_ffi.a \
  -output target/ios-sim/libdoorstep_ffi.a
rm -rf "$here/build/DoorstepFFI.xcframework"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libdoorstep_ffi.a -headers "$gen/headers" \
  -library target/ios-sim/libdoorstep_ffi.a -headers "$gen/headers" \
  -output "$here/build/DoorstepFFI.xcframework"
echo "ios/build/DoorstepFFI.xcframework and ios/Sources/DoorstepBindings/*.swift written"
