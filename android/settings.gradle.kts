// Doorstep's Android app. NEVER BUILT HERE: this machine has no Android SDK. The :field module's
// sources are compiled with kotlinc and tested on the JVM by tests/bindings/run-kotlin.sh.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "doorstep-android"
include(":bindings", ":field", ":app")
