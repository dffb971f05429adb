#!/usr/bin/env bash
# Builds the cdylib, generates the Kotlin bindings from it, compiles them with the JUnit test using
# kotlinc (npm kotlin-compiler@2.4.20) and runs the test on the JVM against the real library.
# Needs: java 17, kotlinc, JNA and JUnit 4 (Debian libjna-java, junit4). Fails, never skips, when a
# piece is missing, and says what to install. scripts/test-all.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
KOTLIN_HOME=${KOTLIN_HOME:-$HOME/.cache/doorstep/kotlin-compiler-2.4.20}
kotlinc="$KOTLIN_HOME/bin/kotlinc"
missing=()
command -v java >/dev/null || missing+=("java (Debian: openjdk-17-jdk-headless)")
[ -x "$kotlinc" ] || missing+=("kotlinc at $KOTLIN_HOME (npm pack kotlin-compiler@2.4.20; scripts/test-all.sh does it)")
for jar in /usr/share/java/jna.jar /usr/share/java/junit4.jar /usr/share/java/hamcrest-core.jar; do
  [ -f "$jar" ] || missing+=("$jar (Debian: apt-get install libjna-java junit4)")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'Kotlin binding test cannot run; missing:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# --workspace --all-targets: the same feature unification as `cargo test --workspace`, so nothing is
# rebuilt after the Rust suites ran.
cargo build -q --workspace --all-targets
out="$target/bindings/kotlin"
rm -rf "$out" && mkdir -p "$out/src" "$out/classes"
"$target/debug/uniffi-bindgen" generate --library "$target/debug/libdoorstep_ffi.so" --language kotlin --out-dir "$out/src" >/dev/null
"$target/debug/doorstep-fixture" kt 120 "$out/turf-kt.json"
cp="/usr/share/java/jna.jar:/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar:$KOTLIN_HOME/lib/kotlin-test.jar:$KOTLIN_HOME/lib/kotlin-test-junit.jar:$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
"$kotlinc" -nowarn -cp "$cp" -d "$out/classes" $(find "$out/src" -name '*.kt') tests/bindings/kotlin/FieldStoreTest.kt
DOORSTEP_SERVER="$target/debug/doorstep-server" DOORSTEP_FIXTURE="$out/turf-kt.json" java -Djna.library.path="$target/debug" \
  -cp "$out/classes:$cp:$KOTLIN_HOME/lib/kotlin-stdlib.jar" org.junit.runner.JUnitCore FieldStoreTest

# The Android app's :field module (plain Kotlin view models, no Android imports) and its JUnit
# tests, compiled against the same generated bindings and run against the real library, a real
# server and the fault-injection proxy.
"$target/debug/doorstep-fixture" kv 60 "$out/turf-kv.json" --voters
mkdir -p "$out/field-classes"
"$kotlinc" -nowarn -cp "$out/classes:$cp" -d "$out/field-classes" \
  $(find android/field/src/main/kotlin android/field/src/test/kotlin -name '*.kt')
DOORSTEP_SERVER="$target/debug/doorstep-server" DOORSTEP_FAULT_PROXY="$target/debug/doorstep-fault-proxy" \
  DOORSTEP_FIXTURE="$out/turf-kt.json" DOORSTEP_VOTERS_FIXTURE="$out/turf-kv.json" java -Djna.library.path="$target/debug" \
  -cp "$out/field-classes:$out/classes:$cp:$KOTLIN_HOME/lib/kotlin-stdlib.jar" org.junit.runner.JUnitCore org.doorstep.field.FieldViewModelsTest
