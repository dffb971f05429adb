// Mirror of MessagesViewModel.kt (team channels, a thread, writing with no network, pinning).
// NEVER COMPILED HERE: no Swift toolchain on the build machine; the Kotlin twin is the one tested
// (FieldViewModelsTest.h_teamMessagesWrittenOfflineThenSentAndRead on the JVM).
import DoorstepBindings
import Foundation

public enum MessageMsg {
    case kindTeam, kindSession, kindAnnouncements, kindDirect, you, pending, sent, readBy(Int), refused(String)
    case empty, tooLong, notAllowed, noChannel

    public func text(_ lang: Lang) -> String {
        let fr = lang == .fr
        switch self {
        case .kindTeam: return fr ? "Équipe" : "Team"
        case .kindSession: return fr ? "Séance" : "Session"
        case .kindAnnouncements: return fr ? "Annonces" : "Announcements"
        case .kindDirect: return fr ? "Message direct" : "Direct message"
        case .you: return fr ? "vous" : "you"
        case .pending: return fr ? "en attente" : "waiting"
        case .sent: return fr ? "envoyé" : "sent"
        case .readBy(let n): return fr ? "lu par \(n)" : "read by \(n)"
        case .refused(let why): return fr ? "refusé : \(why)" : "refused: \(why)"
        case .empty: return fr ? "Le message est vide." : "The message is empty."
        case .tooLong: return fr ? "Un message fait au plus 2 000 caractères." : "A message is at most 2,000 characters."
        case .notAllowed: return fr ? "Vous ne pouvez pas écrire ou épingler ici." : "You may not write or pin here."
        case .noChannel: return fr ? "Ce canal n'est plus le vôtre : synchronisez." : "This channel is no longer yours: sync."
        }
    }
}

public struct ChannelRow: Identifiable {
    public let id, kind, title: String
    public let unread: Int
    public let last: String?
    public let canPost: Bool
}

public struct MessageRow: Identifiable {
    public let id, author, body: String
    public let mine: Bool
    public let status: String?
    public let pinned: Bool
    public let doorId, street, turfId: String?
}

@MainActor
public final class MessagesViewModel: ObservableObject {
    @Published public private(set) var channels: [ChannelRow] = []
    @Published public private(set) var channelId: String?
    @Published public private(set) var title = ""
    @Published public private(set) var pinned: String?
    @Published public private(set) var messages: [MessageRow] = []
    @Published public private(set) var canPost = false
    @Published public private(set) var canPin = false
    @Published public private(set) var error: String?
    private let app: FieldApp

    public init(app: FieldApp) { self.app = app }

    private func kind(_ c: ChannelSummary) -> String {
        switch c.kind {
        case "team": return MessageMsg.kindTeam.text(app.lang)
        case "session": return MessageMsg.kindSession.text(app.lang)
        case "announcements": return MessageMsg.kindAnnouncements.text(app.lang)
        default: return MessageMsg.kindDirect.text(app.lang)
        }
    }

    private func rows(_ list: [ChannelSummary]) -> [ChannelRow] {
        list.map { ChannelRow(id: $0.id, kind: kind($0), title: $0.title, unread: Int($0.unread), last: $0.last, canPost: $0.canPost) }
    }

    public func refresh() throws {
        guard case .ready = app.state else { channels = []; return }
        let list = try app.store().channels()
        channels = rows(list)
        if let id = channelId { try show(id, list.first { $0.id == id }, nil) }
    }

    public func open(_ id: String) throws {
        let c = try app.store().channels().first { $0.id == id }
        if c != nil { try app.store().markRead(channelId: id) }
        try show(id, c, c == nil ? MessageMsg.noChannel.text(app.lang) : nil)
        channels = rows(try app.store().channels())
    }

    private func status(_ m: ThreadMessage) -> String? {
        if !m.mine { return nil }
        if m.state == "pending" { return MessageMsg.pending.text(app.lang) }
        if m.state == "rejected" { return MessageMsg.refused(m.reason ?? "").text(app.lang) }
        return m.readBy > 0 ? MessageMsg.readBy(Int(m.readBy)).text(app.lang) : MessageMsg.sent.text(app.lang)
    }

    private func show(_ id: String, _ c: ChannelSummary?, _ why: String?) throws {
        messages = try app.store().thread(channelId: id).map { m in
            MessageRow(id: m.id, author: m.mine ? MessageMsg.you.text(app.lang) : m.authorName, body: m.body, mine: m.mine,
                       status: status(m), pinned: c?.pinned != nil && c?.pinned == m.body, doorId: m.doorId, street: m.street, turfId: m.turfId)
        }
        channelId = id
        title = c?.title ?? ""
        pinned = c?.pinned
        canPost = c?.canPost ?? false
        canPin = c?.canPin ?? false
        error = why
    }

    private func refused(_ e: Error) -> String {
        switch refusalCode(e) {
        case "empty_message": return MessageMsg.empty.text(app.lang)
        case "bad_text": return MessageMsg.tooLong.text(app.lang)
        case "not_allowed": return MessageMsg.notAllowed.text(app.lang)
        default: return MessageMsg.noChannel.text(app.lang)
        }
    }

    /// Writes in the open thread, with or without a network; returns whether it was kept.
    @discardableResult
    public func send(_ text: String, doorId: String? = nil, street: String? = nil, turfId: String? = nil) -> Bool {
        guard let id = channelId else { return false }
        do {
            _ = try app.store().postMessage(channelId: id, body: text, doorId: doorId, street: street, turfId: turfId)
            try refresh()
            return true
        } catch {
            self.error = refused(error)
            return false
        }
    }

    /// A captain pins a message of the open thread (nil: unpins).
    public func pin(_ messageId: String?) {
        guard let id = channelId else { return }
        do {
            try app.store().pinMessage(channelId: id, messageId: messageId)
            error = nil
        } catch {
            self.error = refused(error)
        }
    }
}

extension MessagesViewModel {
    /// Mirror of MessagesViewModel.listen (Kotlin): while the screen is open and online, waits up
    /// to `waitMs` for the team's messages and shows them; -1 on a network failure.
    public func listen(waitMs: UInt64 = 25_000) async -> Int {
        guard let creds = app.credentials() else { return -1 }
        do {
            let n = try await app.store().listenMessages(serverUrl: creds.serverUrl, token: creds.token, waitMs: waitMs)
            if n > 0 { try? refresh() }
            return Int(n)
        } catch {
            return -1
        }
    }
}

/// Mirror of MapTarget (Kotlin): where a message points, on a turf this phone holds.
public struct MapTarget: Equatable {
    public let turfId: String
    public let doorId, street: String?
}

extension MessagesViewModel {
    /// Mirror of MessagesViewModel.target (Kotlin): tap a message → the turf and the door or street.
    public func target(messageId: String) -> MapTarget? {
        guard let m = messages.first(where: { $0.id == messageId }) else { return nil }
        guard let turfs = try? app.store().turfs() else { return nil }
        if let street = m.street, let turf = m.turfId {
            return turfs.contains { $0.id == turf } ? MapTarget(turfId: turf, doorId: nil, street: street) : nil
        }
        guard let door = m.doorId else { return nil }
        for t in turfs {
            guard let p = try? app.store().routeProgress(turfId: t.id) else { continue }
            if (p.remaining + p.done).contains(where: { $0.doors.contains { $0.id == door } }) {
                return MapTarget(turfId: t.id, doorId: door, street: nil)
            }
        }
        return nil
    }
}
