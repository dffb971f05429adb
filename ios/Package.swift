// swift-tools-version:5.9
// Doorstep's iOS field module. NEVER COMPILED HERE: this machine has no Swift toolchain or Xcode.
// `Field` mirrors the Android :field module (android/field), which is the one tested (on the JVM).
import PackageDescription

let package = Package(
    name: "Doorstep",
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "Field", targets: ["Field"]),
    ],
    targets: [
        // Built by scripts/build-xcframework.sh from ffi/ (static libraries per slice + headers).
        .binaryTarget(name: "DoorstepFFI", path: "build/DoorstepFFI.xcframework"),
        // The uniffi-generated Swift (written into Sources/DoorstepBindings by the same script).
        .target(name: "DoorstepBindings", dependencies: ["DoorstepFFI"], path: "Sources/DoorstepBindings"),
        .target(name: "Field", dependencies: ["DoorstepBindings"], path: "Sources/Field"),
    ]
)
