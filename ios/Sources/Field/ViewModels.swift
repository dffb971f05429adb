// Mirror of RouteViewModel.kt and KnockFormViewModel.kt. NEVER COMPILED HERE.
import DoorstepBindings
import Foundation

@MainActor
public final class RouteViewModel: ObservableObject {
    @Published public private(set) var next: RouteStop?
    @Published public private(set) var stops: [RouteStop] = []
    @Published public private(set) var done: [RouteStop] = []
    @Published public private(set) var doorsKnocked = 0, doorsTotal = 0, walkMetres = 0
    @Published public var message: String?
    @Published public private(set) var gone = false
    /// Buildings a team message pointed at, marked on the map (mirror of RouteUi.focus).
    @Published public private(set) var focus: [String] = []
    public let turfId: String
    private let app: FieldApp
    private var turfName: String

    public init(app: FieldApp, turfId: String) { self.app = app; self.turfId = turfId; turfName = turfId }

    public func start(position: Position?, side: PairSide? = nil, roundTrip: Bool = false) throws {
        turfName = try app.store().turfs().first { $0.id == turfId }?.name ?? turfId
        show(try app.store().computeRoute(turfId: turfId, start: position, side: side, roundTrip: roundTrip))
    }

    /// After a knock or a sync: says so when the stop the volunteer was heading to left their hands.
    public func refresh() throws {
        let before = next
        guard case .ready = app.state, try app.store().turfs().contains(where: { $0.id == turfId }) else {
            next = nil; stops = []; gone = true
            message = Msg.turfRemoved(turfName).text(app.lang)
            return
        }
        let p = try app.store().routeProgress(turfId: turfId)
        if let before, !(p.remaining + p.done).contains(where: { $0.buildingId == before.buildingId }) {
            message = Msg.stopMoved(before.address).text(app.lang)
        }
        show(p)
    }

    /// Mirror of RouteViewModel.focus (Kotlin): marks a message's door or street on the map.
    @discardableResult
    public func focus(_ target: MapTarget) throws -> Bool {
        let p = try app.store().routeProgress(turfId: turfId)
        focus = (p.remaining + p.done).filter { stop in
            (target.doorId.map { d in stop.doors.contains { $0.id == d } } ?? false) || (target.street.map { stop.street == $0 } ?? false)
        }.map { $0.buildingId }
        return !focus.isEmpty
    }

    public func household(doorId: String) throws -> [PersonView] {
        let p = try app.store().routeProgress(turfId: turfId)
        return (p.remaining + p.done).flatMap { $0.doors }.first { $0.id == doorId }?.people ?? []
    }

    private func show(_ p: RouteProgress) {
        next = p.next; stops = p.remaining; done = p.done
        doorsKnocked = Int(p.doorsKnocked); doorsTotal = Int(p.doorsTotal); walkMetres = Int(p.totalWalkM)
    }
}

public struct QuestionUi: Identifiable {
    public let question: Question
    public let text: String
    public let answer: AnswerValue?
    public let missing: Bool
    public var id: String { question.id }
}

@MainActor
public final class KnockFormViewModel: ObservableObject {
    @Published public private(set) var results: [(code: String, label: String, contact: Bool)] = []
    @Published public private(set) var resultCode: String?
    @Published public private(set) var questions: [QuestionUi] = []
    @Published public var note = "" { didSet { saveDraft() } }
    @Published public private(set) var restoredDraft = false
    @Published public private(set) var error: String?
    /// The voter asked for a follow-up text (issue 19): the number and the consent words shown.
    @Published public private(set) var followUp: FollowUp?
    public let target: Target
    private let app: FieldApp
    private let turfId: String
    private let correcting: String?
    private var answers: [(String, AnswerValue)] = []
    private var script: SurveyScript

    public init(app: FieldApp, turfId: String, target: Target, correcting: KnockView? = nil, doorHasPeople: Bool = false) throws {
        self.app = app; self.turfId = turfId; self.target = target; self.correcting = correcting?.id
        let store = try app.store()
        script = try store.surveyScript(turfId: turfId)
        results = try store.resultCodes(turfId: turfId).filter {
            if case .person = target { return $0.level == .person }
            return $0.level == .door || !doorHasPeople
        }.map { ($0.code, app.lang == .fr ? $0.labelFr : $0.labelEn, $0.outcome == .contacted) }
        if let d = try store.loadDraft(target: target) {
            answers = d.answers.map { ($0.questionId, $0.value) }
            resultCode = d.resultCode; note = d.note ?? ""; restoredDraft = true
        } else if let c = correcting {
            answers = c.answers.map { ($0.questionId, $0.value) }
            resultCode = c.resultCode; note = c.note ?? ""
        }
        recompute()
    }

    public func chooseResult(_ code: String) { resultCode = code; changed() }

    public func answer(_ questionId: String, _ value: AnswerValue?) {
        answers.removeAll { $0.0 == questionId }
        if let value { answers.append((questionId, value)) }
        changed()
    }

    /// The voter asks for a follow-up text at `number` after reading `consentShown`: recorded with
    /// the knock, offline; the text goes only once the phone has synced.
    public func askFollowUp(_ number: String, consentShown: String? = nil) {
        followUp = FollowUp(number: number.trimmingCharacters(in: .whitespaces), consentText: consentShown ?? Msg.followUpConsent.text(app.lang))
        error = nil
    }

    public func cancelFollowUp() { followUp = nil }

    public func submit(position: Position?) -> KnockView? {
        guard let code = resultCode else { error = Msg.needResult.text(app.lang); return nil }
        if let q = questions.first(where: { $0.missing }) { error = Msg.required(q.text).text(app.lang); return nil }
        let visible = questions.compactMap { q in q.answer.map { Answer(questionId: q.question.id, value: $0) } }
        let input = KnockInput(target: target, resultCode: code, answers: visible, note: note.isEmpty ? nil : note, safetyFlags: [], position: position, followUp: followUp)
        do {
            let store = try app.store()
            let view = try correcting.map { try store.correctKnock(originalId: $0, input: input) } ?? store.recordKnock(input: input)
            _ = try store.discardDraft(target: target)
            return view
        } catch FieldError.InvalidInput(let reason) where reason.hasPrefix("bad_follow_up_number:") {
            self.error = Msg.followUpBadNumber.text(app.lang)
            return nil
        } catch {
            self.error = Msg.notSaved("\(error)").text(app.lang)
            return nil
        }
    }

    private func changed() { error = nil; recompute(); saveDraft() }

    private func saveDraft() {
        let draft = KnockDraft(target: target, resultCode: resultCode, answers: answers.map { Answer(questionId: $0.0, value: $0.1) }, note: note.isEmpty ? nil : note, safetyFlags: [], updatedMs: 0)
        _ = try? app.store().saveDraft(draft: draft)
    }

    private func recompute() {
        guard results.first(where: { $0.code == resultCode })?.contact == true,
              let shown = try? app.store().visibleQuestions(turfId: turfId, answers: answers.map { Answer(questionId: $0.0, value: $0.1) }) else {
            questions = []; return
        }
        questions = script.questions.filter { shown.contains($0.id) }.map { q in
            let a = answers.first { $0.0 == q.id }?.1
            return QuestionUi(question: q, text: app.lang == .fr ? q.textFr : q.textEn, answer: a, missing: q.required && a == nil)
        }
    }
}

/// A paper walk sheet's QR code (or a door code typed in, with its turf) opens that door's knock
/// form; nil when this phone does not hold the door. Mirrors `knockFormFromSheet` of `:field`.
@MainActor
public func knockFormFromSheet(app: FieldApp, scanned: String, turfId: String? = nil) -> KnockFormViewModel? {
    guard let store = try? app.store(), let door = try? store.doorFromSheet(text: scanned, turfId: turfId) else { return nil }
    return try? KnockFormViewModel(app: app, turfId: door.turfId, target: .door(id: door.doorId))
}
