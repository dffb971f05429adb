// The SwiftUI app over the Field module. NEVER COMPILED HERE. Add these files to an iOS App target
// in Xcode that depends on the local package (ios/Package.swift, product "Field"); Info.plist needs
// BGTaskSchedulerPermittedIdentifiers = [org.doorstep.sync], NSLocationWhenInUseUsageDescription,
// NSCameraUsageDescription (the invitation QR code) and the URL scheme "doorstep".
import BackgroundTasks
import Field
import SwiftUI

@main
struct DoorstepApp: App {
    @StateObject private var field: FieldApp
    @StateObject private var sync: SyncController

    init() {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].appendingPathComponent("field")
        let app = try! FieldApp(dir: dir, secrets: KeychainSecrets(), scheduler: BackgroundSyncScheduler(),
                                lang: Locale.current.language.languageCode?.identifier == "en" ? .en : .fr)
        _field = StateObject(wrappedValue: app)
        _sync = StateObject(wrappedValue: SyncController(app: app))
    }

    var body: some Scene {
        WindowGroup {
            RootView().environmentObject(field).environmentObject(sync)
                .onOpenURL { url in Task { _ = await field.join(url.absoluteString) } }
        }
        .backgroundTask(.appRefresh(BackgroundSyncScheduler.identifier)) {
            _ = await sync.syncNow()
        }
    }
}
