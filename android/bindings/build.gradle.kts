// The uniffi-generated Kotlin bindings (package uniffi.*), plain Kotlin over JNA. Generated into
// build/generated/uniffi by android/scripts/build-native.sh from the release library itself, so
// bindings and native code always match. The native libraries go to :app's jniLibs per ABI.
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin { jvmToolchain(17) }

sourceSets {
    main { kotlin.srcDir(layout.buildDirectory.dir("generated/uniffi")) }
}

dependencies {
    // JNA: the plain jar for JVM tests; :app adds the Android AAR (with libjnidispatch per ABI).
    compileOnly("net.java.dev.jna:jna:5.15.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}
