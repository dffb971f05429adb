// View models and state for every screen, in plain Kotlin with no Android imports: tested on the
// JVM against the real library. Here (no Gradle on the CI machine) the same sources are compiled
// with kotlinc by tests/bindings/run-kotlin.sh; with Gradle: `./gradlew :field:test` after
// `scripts/build-native.sh --host` (which also builds the host library the tests load).
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin { jvmToolchain(17) }

dependencies {
    api(project(":bindings"))
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    testImplementation("net.java.dev.jna:jna:5.15.0")
    testImplementation("junit:junit:4.13.2")
    testImplementation(kotlin("test-junit"))
}

tasks.test {
    // The host build of libdoorstep_ffi, the server and the fault proxy (cargo build at the root).
    val target = rootProject.projectDir.resolve("../target/debug")
    systemProperty("jna.library.path", target.path)
    environment("DOORSTEP_SERVER", target.resolve("doorstep-server").path)
    environment("DOORSTEP_FAULT_PROXY", target.resolve("doorstep-fault-proxy").path)
    environment("DOORSTEP_FIXTURE", layout.buildDirectory.file("turf-kt.json").get().asFile.path)
    environment("DOORSTEP_VOTERS_FIXTURE", layout.buildDirectory.file("turf-kv.json").get().asFile.path)
}
