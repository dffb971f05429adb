// Platform glue and the interfaces the view models need. NEVER COMPILED HERE (no Swift toolchain):
// a thin mirror of android/field/src/main/kotlin/org/doorstep/field/Platform.kt.
import BackgroundTasks
import Foundation
import Security

public protocol SecretStore: AnyObject {
    func get(_ name: String) -> String?
    func put(_ name: String, _ value: String)
    func remove(_ name: String)
}

/// Runs one background sync later, with a network (BGTaskScheduler). Never a loop.
public protocol SyncScheduler: AnyObject {
    func schedule(delayMs: Int64, requireBatteryNotLow: Bool)
    func cancel()
}

public enum Lang { case fr, en }

/// Secrets in the Keychain, this device only, readable after the first unlock (background sync).
public final class KeychainSecrets: SecretStore {
    private let service = "org.doorstep.field"
    public init() {}

    private func query(_ name: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service, kSecAttrAccount as String: name]
    }

    public func get(_ name: String) -> String? {
        var q = query(name)
        q[kSecReturnData as String] = true
        var out: AnyObject?
        guard SecItemCopyMatching(q as CFDictionary, &out) == errSecSuccess, let data = out as? Data else { return nil }
        return String(data: data, encoding: .utf8)
    }

    public func put(_ name: String, _ value: String) {
        remove(name)
        var q = query(name)
        q[kSecValueData as String] = Data(value.utf8)
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        SecItemAdd(q as CFDictionary, nil)
    }

    public func remove(_ name: String) {
        SecItemDelete(query(name) as CFDictionary)
    }
}

/// BGAppRefreshTask "org.doorstep.sync" (declared in the app's Info.plist); the system picks the
/// moment, at the earliest after the delay.
public final class BackgroundSyncScheduler: SyncScheduler {
    public static let identifier = "org.doorstep.sync"
    public init() {}

    public func schedule(delayMs: Int64, requireBatteryNotLow: Bool) {
        let request = BGAppRefreshTaskRequest(identifier: Self.identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: Double(delayMs) / 1000)
        try? BGTaskScheduler.shared.submit(request)
    }

    public func cancel() {
        BGTaskScheduler.shared.cancel(taskRequestWithIdentifier: Self.identifier)
    }
}
