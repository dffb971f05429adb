// Mirror of SessionsViewModel.kt (sessions and sign-up offline, the captain's hand-out, the
// volunteer's scan of a lease). NEVER COMPILED HERE: no Swift toolchain on the build machine; the
// Kotlin twin is the one tested (FieldViewModelsTest on the JVM).
import DoorstepBindings
import Foundation

public enum SessionMsg {
    case placesLeft(Int), full, sessionFull, sessionOver, calledOff, alreadyCheckedIn, notSignedUp
    case standing(Attendance), grantRefused, handedTo(String, Int, String, String), leaseOpened(String, Int, String)
    case leaseNotForMe, leaseExpired, clocksDiffer, leaseUnreadable, leaseForged, leaseNeedsSync, doorSealed, sealed

    public func text(_ lang: Lang) -> String {
        let fr = lang == .fr
        switch self {
        case .placesLeft(let n): return fr ? "\(n) place(s) restante(s)" : "\(n) place(s) left"
        case .full: return fr ? "complet" : "full"
        case .sessionFull: return fr ? "La séance est complète." : "The session is full."
        case .sessionOver: return fr ? "La séance est terminée." : "The session is over."
        case .calledOff: return fr ? "La séance est annulée." : "The session was called off."
        case .alreadyCheckedIn: return fr ? "Vous avez déjà été accueilli : rien à annuler." : "You were already checked in: nothing to cancel."
        case .notSignedUp: return fr ? "Inscrivez-vous d'abord." : "Sign up first."
        case .standing(let a):
            switch a {
            case .signedUp: return fr ? "inscrit" : "signed up"
            case .confirmed: return fr ? "confirmé" : "confirmed"
            case .checkedIn: return fr ? "accueilli" : "checked in"
            case .cancelled: return fr ? "annulé" : "cancelled"
            case .noShow: return fr ? "absent" : "no-show"
            }
        case .grantRefused: return fr ? "Le serveur ne vous a pas autorisé à remettre les rues de cette séance." : "The server did not let you hand out this session's streets."
        case .handedTo(let what, let n, let who, let until): return fr ? "\(what) (\(n) portes) confiée à \(who) jusqu'au \(until)" : "\(what) (\(n) doors) handed to \(who) until \(until)"
        case .leaseOpened(let what, let n, let until): return fr ? "\(what) ouverte : \(n) portes jusqu'au \(until)" : "\(what) opened: \(n) doors until \(until)"
        case .leaseNotForMe: return fr ? "Ce code est destiné à un autre bénévole." : "This code is for another volunteer."
        case .leaseExpired: return fr ? "Ce code a expiré : demandez-en un nouveau au capitaine." : "This code has expired: ask the captain for a new one."
        case .clocksDiffer: return fr ? "L'heure de ce téléphone et celle du capitaine diffèrent de plus de 10 minutes : mettez-les à l'heure, puis scannez à nouveau." : "This phone's clock and the captain's differ by more than 10 minutes: set them right, then scan again."
        case .leaseUnreadable: return fr ? "Ce n'est pas un code de remise Doorstep." : "This is not a Doorstep hand-off code."
        case .leaseForged: return fr ? "Code refusé : il ne vient pas d'un capitaine de la campagne." : "Code refused: it does not come from a captain of the campaign."
        case .leaseNeedsSync: return fr ? "Synchronisez une fois avec du réseau avant de recevoir une rue." : "Sync once with a network before receiving a street."
        case .doorSealed: return fr ? "Cette rue ne vous a pas été remise : demandez-la au capitaine de la séance." : "This street has not been handed to you: ask the session's captain."
        case .sealed: return fr ? "à recevoir du capitaine" : "to be handed by the captain"
        }
    }
}

/// The stable code a rule-book refusal starts with (`not_for_me: …`).
func refusalCode(_ e: Error) -> String? {
    guard case FieldError.InvalidInput(let reason) = e else { return nil }
    let code = reason.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
    return code.allSatisfy({ $0.isLowercase || $0 == "_" }) ? code : nil
}

public struct SessionRow: Identifiable {
    public let id, title, time, meeting, places: String
    public let standing: String?
    public let pending, captain, cancelled, canSignUp, canConfirm, canCancel: Bool
}

@MainActor
public final class SessionsViewModel: ObservableObject {
    @Published public private(set) var rows: [SessionRow] = []
    @Published public private(set) var message: String?
    /// Session reminders to show above the list (the server's French text), until dismissed.
    @Published public private(set) var reminders: [AppReminder] = []
    private let app: FieldApp

    public init(app: FieldApp) { self.app = app }

    public func refresh() throws {
        guard case .ready = app.state else { rows = []; reminders = []; return }
        rows = try app.store().sessions().map(row)
        reminders = try app.store().reminders()
    }

    /// Read: not shown again, even when the server serves it again.
    public func dismissReminder(_ id: String) throws {
        try app.store().dismissReminder(id: id)
        try refresh()
    }

    public func signUp(_ id: String) throws { try act(id, .signUp) }
    public func confirm(_ id: String) throws { try act(id, .confirm) }
    public func cancel(_ id: String) throws { try act(id, .cancel) }

    private func act(_ id: String, _ kind: SignupKind) throws {
        do {
            _ = try app.store().signUp(sessionId: id, kind: kind)
            message = nil
        } catch {
            let m: SessionMsg? = switch refusalCode(error) {
            case "session_full": .sessionFull
            case "session_over": .sessionOver
            case "session_called_off": .calledOff
            case "checked_in": .alreadyCheckedIn
            case "not_signed_up": .notSignedUp
            default: nil
            }
            message = m?.text(app.lang) ?? Msg.refused("\(error)").text(app.lang)
        }
        try refresh()
    }

    private func row(_ s: SessionView) -> SessionRow {
        let over = Int64(Date().timeIntervalSince1970 * 1000) >= s.endMs
        let active = s.standing == .signedUp || s.standing == .confirmed
        return SessionRow(
            id: s.id, title: s.title, time: "\(shortTime(s.startMs, app.lang)) → \(shortTime(s.endMs, app.lang))",
            meeting: s.meetingText,
            places: s.placesLeft == 0 ? SessionMsg.full.text(app.lang) : SessionMsg.placesLeft(Int(s.placesLeft)).text(app.lang),
            standing: s.standing.map { SessionMsg.standing($0).text(app.lang) },
            pending: s.pending, captain: s.captain, cancelled: s.cancelled,
            canSignUp: !over && !s.cancelled && !s.captain && !active && s.standing != .checkedIn && s.placesLeft > 0,
            canConfirm: !over && !s.cancelled && s.standing == .signedUp,
            canCancel: !over && active)
    }
}

/// The captain at the meeting point: the grant online beforehand, then hand-outs with no network.
@MainActor
public final class HandOutViewModel: ObservableObject {
    @Published public private(set) var ready = false
    @Published public private(set) var streets: [StreetDoors] = []
    @Published public private(set) var qrText: String?
    @Published public private(set) var given: String?
    @Published public private(set) var message: String?
    public let sessionId: String
    private let app: FieldApp

    public init(app: FieldApp, sessionId: String) { self.app = app; self.sessionId = sessionId }

    public func prepare() async -> Bool {
        guard let c = app.credentials() else { return false }
        do {
            _ = try await app.store().requestGrant(serverUrl: c.serverUrl, token: c.token, sessionId: sessionId)
            ready = true; message = nil
            return true
        } catch FieldError.Network {
            message = Msg.noNetwork.text(app.lang); return false
        } catch {
            message = SessionMsg.grantRefused.text(app.lang); return false
        }
    }

    public func chooseTurf(_ turfId: String) throws { streets = try app.store().turfStreets(turfId: turfId) }

    public func give(volunteerId: String, turfId: String, street: String?, minutes: UInt32 = 180) {
        do {
            let code = try app.store().giveHandoff(sessionId: sessionId, volunteerId: volunteerId, turfId: turfId, street: street, minutes: minutes)
            qrText = code.qrText
            given = SessionMsg.handedTo(street ?? turfId, Int(code.lease.doors), volunteerId, shortTime(code.lease.expiresMs, app.lang)).text(app.lang)
            message = nil
        } catch {
            qrText = nil; given = nil; message = Msg.refused("\(error)").text(app.lang)
        }
    }
}

/// The volunteer scans the captain's code, with no network.
@MainActor
public final class LeaseReceiveViewModel: ObservableObject {
    @Published public private(set) var opened: String?
    @Published public private(set) var error: String?
    private let app: FieldApp

    public init(app: FieldApp) { self.app = app }

    public func scan(_ text: String) {
        do {
            let l = try app.store().receiveHandoff(qrText: text)
            opened = SessionMsg.leaseOpened(l.street ?? l.turfId, Int(l.doors), shortTime(l.expiresMs, app.lang)).text(app.lang)
            error = nil
        } catch {
            opened = nil
            let m: SessionMsg = switch refusalCode(error) {
            case "not_for_me": .leaseNotForMe
            case "lease_expired": .leaseExpired
            case "lease_not_yet": .clocksDiffer
            case "handoff_malformed", "handoff_too_long": .leaseUnreadable
            case "grant_forged", "handoff_forged", "grant_mismatch", "outside_grant", "lease_too_long": .leaseForged
            default: .leaseNeedsSync
            }
            self.error = m.text(app.lang)
        }
    }
}

/// A date and time as people read it here: `25/11 14:05` in French, `25 Nov 14:05` in English
/// (the Kotlin `shortTime`).
func shortTime(_ ms: Int64, _ lang: Lang) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: lang == .fr ? "fr_FR" : "en_GB")
    f.dateFormat = lang == .fr ? "dd/MM HH:mm" : "d MMM HH:mm"
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

// Check-in (mirror of SessionsViewModel.checkIn and HandOutViewModel.showCheckinCode /
// confirmCheckIn in Kotlin). NEVER COMPILED HERE.
extension SessionsViewModel {
    public func checkIn(_ qrText: String, app: FieldApp) throws {
        do {
            _ = try app.store().checkIn(qrText: qrText)
            message = nil
        } catch {
            let fr = app.lang == .fr
            message = switch refusalCode(error) {
            case "lease_expired": fr ? "Ce code d'accueil n'est plus valable : demandez au capitaine de l'afficher à nouveau." : "This check-in code is no longer valid: ask the captain to show it again."
            case "lease_not_yet": SessionMsg.clocksDiffer.text(app.lang)
            case "handoff_malformed", "handoff_too_long": fr ? "Ce n'est pas un code d'accueil Doorstep." : "This is not a Doorstep check-in code."
            case "session_over": SessionMsg.sessionOver.text(app.lang)
            case "session_called_off": SessionMsg.calledOff.text(app.lang)
            default: SessionMsg.leaseForged.text(app.lang)
            }
        }
        try refresh()
    }
}

extension HandOutViewModel {
    public func checkinCode(app: FieldApp, minutes: UInt32 = 60) throws -> String {
        try app.store().checkinCode(sessionId: sessionId, minutes: minutes)
    }
    public func confirmCheckIn(app: FieldApp, volunteerId: String) throws {
        try app.store().confirmCheckIn(sessionId: sessionId, volunteerId: volunteerId)
    }
}
