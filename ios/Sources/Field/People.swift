// Mirror of PeopleViewModel.kt (one's page and its settings, coopains and asks, the team).
// NEVER COMPILED HERE: no Swift toolchain on the build machine; the Kotlin twin is the one tested
// (FieldViewModelsTest.i_coopainsAskedAndAcceptedOffline on the JVM).
import DoorstepBindings
import Foundation

public enum PeopleMsg {
    case volunteer, captain, coordinator, figures(Int, Int), linked, asked, asksYou
    case noAsk, badPseudonym, badBio, refused

    public func text(_ lang: Lang) -> String {
        let fr = lang == .fr
        switch self {
        case .volunteer: return fr ? "Bénévole" : "Volunteer"
        case .captain: return fr ? "Capitaine" : "Captain"
        case .coordinator: return fr ? "Coordinateur" : "Coordinator"
        case .figures(let d, let c): return fr ? "\(d) portes · \(c) conversations" : "\(d) doors · \(c) conversations"
        case .linked: return "Coopains"
        case .asked: return fr ? "Demande envoyée" : "Ask sent"
        case .asksYou: return fr ? "Vous propose d'être coopains" : "Asks to be coopains"
        case .noAsk: return fr ? "Aucune demande à accepter : synchronisez." : "No ask to accept: sync."
        case .badPseudonym: return fr ? "Un pseudonyme fait de 1 à 40 caractères." : "A pseudonym is 1 to 40 characters."
        case .badBio: return fr ? "La présentation fait au plus 280 caractères." : "The few words are at most 280 characters."
        case .refused: return fr ? "Refusé : synchronisez puis réessayez." : "Refused: sync and try again."
        }
    }
}

public struct PersonRow: Identifiable {
    public var id: String { userId }
    public let userId, name, role: String
    public let bio, figures: String?
    public let activity: [String]
    /// "Sur le secteur …" (mirror of PersonRow.where).
    public let place: String?
    public let link, action: String?
    public let pending, hasPhoto: Bool
}

@MainActor
public final class PeopleViewModel: ObservableObject {
    @Published public private(set) var me: PersonRow?
    @Published public private(set) var settings: ProfileSettings?
    @Published public private(set) var coopains: [PersonRow] = []
    @Published public private(set) var team: [PersonRow] = []
    @Published public private(set) var waiting = 0
    @Published public private(set) var error: String?
    private let app: FieldApp

    public init(app: FieldApp) { self.app = app }

    private func role(_ r: String) -> String {
        switch r {
        case "captain": return PeopleMsg.captain.text(app.lang)
        case "coordinator": return PeopleMsg.coordinator.text(app.lang)
        default: return PeopleMsg.volunteer.text(app.lang)
        }
    }

    private func row(_ p: PersonCard) -> PersonRow {
        let link: String?
        switch p.coopain {
        case "linked": link = PeopleMsg.linked.text(app.lang)
        case "asked_by_me": link = PeopleMsg.asked.text(app.lang)
        case "asked_by_them": link = PeopleMsg.asksYou.text(app.lang)
        default: link = nil
        }
        let action: String? = p.coopain == nil ? "ask" : (p.coopain == "asked_by_them" ? "accept" : nil)
        let figures = p.doors.map { PeopleMsg.figures(Int($0), Int(p.conversations ?? 0)).text(app.lang) }
        return PersonRow(userId: p.userId, name: p.name, role: role(p.role), bio: p.bio, figures: figures,
                         activity: p.activity,
                         place: p.turfs.isEmpty ? nil : (app.lang == .fr ? "Sur le secteur " : "On turf ") + p.turfs.joined(separator: ", "),
                         link: link, action: action, pending: p.pending, hasPhoto: p.hasPhoto)
    }

    public func refresh(error: String? = nil) {
        guard let s = try? app.store().people() else { return }
        let order = ["asked_by_them": 1, "asked_by_me": 2]
        me = s.me.map(row)
        settings = s.settings
        coopains = s.coopains.sorted { (order[$0.coopain ?? ""] ?? 0) < (order[$1.coopain ?? ""] ?? 0) }.map(row)
        team = s.team.map(row)
        waiting = Int(s.pending)
        self.error = error
    }

    private func refused(_ e: Error) -> String {
        switch refusalCode(e) {
        case "no_ask": return PeopleMsg.noAsk.text(app.lang)
        case "bad_pseudonym": return PeopleMsg.badPseudonym.text(app.lang)
        case "bad_bio": return PeopleMsg.badBio.text(app.lang)
        default: return PeopleMsg.refused.text(app.lang)
        }
    }

    @discardableResult
    private func step(_ userId: String, _ step: CoopainStep) -> Bool {
        do {
            try app.store().coopain(userId: userId, step: step)
            refresh()
            return true
        } catch {
            refresh(error: refused(error))
            return false
        }
    }

    @discardableResult public func ask(_ userId: String) -> Bool { step(userId, .ask) }
    @discardableResult public func accept(_ userId: String) -> Bool { step(userId, .accept) }
    @discardableResult public func end(_ userId: String) -> Bool { step(userId, .end) }

    @discardableResult
    public func save(pseudonym: String?, bio: String?, visibility: FieldVisibility) -> Bool {
        let p = pseudonym.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        let b = bio.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        do {
            try app.store().setProfile(settings: ProfileSettings(pseudonym: p, bio: b, visibility: visibility))
            refresh()
            return true
        } catch {
            refresh(error: refused(error))
            return false
        }
    }
}
