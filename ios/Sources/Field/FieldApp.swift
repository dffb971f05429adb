// Mirror of FieldApp.kt and SyncController.kt. NEVER COMPILED HERE.
import DoorstepBindings
import Foundation

public enum AppState: Equatable {
    case needsJoin
    case ready(volunteerId: String, campaignId: String)
    case wiped(message: String)
}

public struct Credentials { public let serverUrl, token, volunteerId, campaignId: String }

@MainActor
public final class FieldApp: ObservableObject {
    @Published public private(set) var state: AppState = .needsJoin
    public var lang: Lang
    public let scheduler: SyncScheduler
    private let secrets: SecretStore
    private let dbURL: URL
    private var opened: FieldStore?

    public init(dir: URL, secrets: SecretStore, scheduler: SyncScheduler, lang: Lang = .fr) throws {
        self.secrets = secrets
        self.scheduler = scheduler
        self.lang = lang
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // The store is excluded from backups, and protected until the first unlock.
        dbURL = dir.appendingPathComponent("doorstep-field.db")
        if let wiped = secrets.get("wiped_message"), credentials() == nil {
            state = .wiped(message: wiped)
        } else if let c = credentials() {
            state = .ready(volunteerId: c.volunteerId, campaignId: c.campaignId)
        }
        if FileManager.default.fileExists(atPath: dbURL.path) { _ = try store().purgeExpired() }
    }

    public func store() throws -> FieldStore {
        if let s = opened { return s }
        let s = try FieldStore.open(path: dbURL.path, key: storeKey())
        opened = s
        return s
    }

    private func storeKey() -> String {
        if let k = secrets.get("store_key") { return k }
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes)
        let k = bytes.map { String(format: "%02x", $0) }.joined()
        secrets.put("store_key", k)
        return k
    }

    public func credentials() -> Credentials? {
        guard let url = secrets.get("server_url"), let token = secrets.get("token") else { return nil }
        return Credentials(serverUrl: url, token: token, volunteerId: secrets.get("volunteer_id") ?? "", campaignId: secrets.get("campaign_id") ?? "")
    }

    /// nil when joined, else the message to show.
    public func join(_ input: String, server: String? = nil) async -> String? {
        // The core reads the link (one parser for both shells: `parse_join_link`).
        guard let link = try? parseJoinLink(input: input, server: server) else { return Msg.badJoinLink.text(lang) }
        let (url, code) = (link.serverUrl, link.code)
        do {
            let info = try await store().join(serverUrl: url, code: code)
            secrets.put("server_url", url); secrets.put("token", info.token)
            secrets.put("volunteer_id", info.volunteerId); secrets.put("campaign_id", info.campaignId)
            secrets.remove("wiped_message")
            state = .ready(volunteerId: info.volunteerId, campaignId: info.campaignId)
            return nil
        } catch FieldError.Refused {
            return Msg.joinRefused.text(lang)
        } catch {
            return Msg.noNetwork.text(lang)
        }
    }

    /// The core erased the campaign's data and kept unacknowledged reports; with none left, the
    /// files and the key go too.
    func onWiped(reportsKeptPending: Int) {
        if reportsKeptPending > 0 {
            state = .wiped(message: Msg.revokedPending(reportsKeptPending).text(lang))
            return
        }
        opened = nil
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: dbURL.path + suffix)
        }
        for name in ["store_key", "token", "server_url", "volunteer_id", "campaign_id"] { secrets.remove(name) }
        scheduler.cancel()
        let message = Msg.revoked.text(lang)
        secrets.put("wiped_message", message)
        state = .wiped(message: message)
    }
}

public enum SyncOutcome {
    case done(SyncReport), skipped(String), failed(String, retryInMs: Int64), refused(String), wiped
}

@MainActor
public final class SyncController: ObservableObject {
    @Published public private(set) var pending = 0
    @Published public private(set) var summary = ""
    @Published public private(set) var banner: String?
    @Published public private(set) var syncing = false
    @Published public var online = true { didSet { refresh(); if online && pending > 0 { app.scheduler.schedule(delayMs: 0, requireBatteryNotLow: batteryLow) } } }
    public var batteryLow = false
    private var failures = 0
    private let app: FieldApp

    public init(app: FieldApp) { self.app = app; refresh() }

    public func refresh() {
        guard app.credentials() != nil, let s = try? app.store().syncStatus() else { return }
        pending = Int(s.pending)
        let last = s.lastSyncMs.map { Msg.lastSync(Date(timeIntervalSince1970: Double($0) / 1000).formatted(date: .numeric, time: .shortened)).text(app.lang) } ?? Msg.neverSynced.text(app.lang)
        summary = Msg.pending(pending).text(app.lang) + ", " + last
        banner = !online ? Msg.offline.text(app.lang) : failures > 0 ? Msg.syncInterrupted(pending).text(app.lang) : nil
    }

    public func knockRecorded() {
        refresh()
        if failures == 0 { app.scheduler.schedule(delayMs: 0, requireBatteryNotLow: batteryLow) }
    }

    /// The core's schedule (`sync_backoff_ms`), the same as Android's.
    public func backoffMs(_ failures: Int) -> Int64 {
        Int64(syncBackoffMs(failures: UInt32(max(0, failures)), batteryLow: batteryLow))
    }

    public func syncNow() async -> SyncOutcome {
        guard let c = app.credentials() else { return .skipped("not joined") }
        guard online else { app.scheduler.schedule(delayMs: 0, requireBatteryNotLow: batteryLow); return .skipped("offline") }
        guard !syncing else { return .skipped("already syncing") }
        syncing = true
        defer { syncing = false }
        do {
            let report = try await app.store().syncOnce(serverUrl: c.serverUrl, token: c.token, listener: NoListener())
            failures = 0
            if report.pull.wiped {
                app.onWiped(reportsKeptPending: Int(report.pull.reportsKeptPending))
                if case .wiped(let m) = app.state { banner = m }
                return .wiped
            }
            app.scheduler.cancel()
            refresh()
            return .done(report)
        } catch FieldError.Busy(_, let retryAfterMs) {
            return failed(Int64(retryAfterMs))
        } catch FieldError.Refused(let reason) {
            banner = Msg.refused(reason).text(app.lang)
            return .refused(banner!)
        } catch {
            return failed(0)
        }
    }

    private func failed(_ serverAskedMs: Int64) -> SyncOutcome {
        failures += 1
        let delay = max(backoffMs(failures), serverAskedMs)
        app.scheduler.schedule(delayMs: delay, requireBatteryNotLow: batteryLow)
        refresh()
        return .failed(serverAskedMs > 0 ? Msg.serverBusy(delay / 1000).text(app.lang) : Msg.syncInterrupted(pending).text(app.lang), retryInMs: delay)
    }
}

final class NoListener: SyncListener {
    func onProgress(phase: SyncPhase, pending: UInt32, attempt: UInt32) {}
}
