// The screens: draw state, forward taps. NEVER COMPILED HERE.
import DoorstepBindings
import Field
import SwiftUI

struct RootView: View {
    @EnvironmentObject var field: FieldApp
    @EnvironmentObject var sync: SyncController

    var body: some View {
        VStack(spacing: 0) {
            if let banner = sync.banner { Text(banner).padding().frame(maxWidth: .infinity).background(.orange.opacity(0.3)) }
            switch field.state {
            case .needsJoin: JoinView()
            case .wiped(let message): Text(message).padding()
            case .ready: NavigationStack { TurfListView() }
            }
        }
    }
}

struct JoinView: View {
    @EnvironmentObject var field: FieldApp
    @State private var input = ""
    @State private var error: String?
    var body: some View {
        Form {
            TextField(field.lang == .fr ? "Lien ou code d'invitation" : "Invitation link or code", text: $input)
            Button(field.lang == .fr ? "Rejoindre" : "Join") { Task { error = await field.join(input) } }
            if let error { Text(error).foregroundStyle(.red) }
        }
    }
}

struct TurfListView: View {
    @EnvironmentObject var field: FieldApp
    @EnvironmentObject var sync: SyncController
    var body: some View {
        List((try? field.store().turfs()) ?? [], id: \.id) { t in
            NavigationLink(t.name) { RouteView(model: RouteViewModel(app: field, turfId: t.id)) }
        }
        .toolbar { Button(field.lang == .fr ? "Synchroniser" : "Sync") { Task { _ = await sync.syncNow() } } }
        .navigationTitle(sync.summary)
    }
}

struct RouteView: View {
    @EnvironmentObject var field: FieldApp
    @StateObject var model: RouteViewModel
    var body: some View {
        List {
            if let m = model.message { Text(m).foregroundStyle(.orange) }
            Text("\(model.doorsKnocked) / \(model.doorsTotal) · \(model.walkMetres) m")
            if let stop = model.next {
                Section(stop.address) {
                    ForEach(stop.doors, id: \.id) { d in
                        NavigationLink(d.label.isEmpty ? stop.houseNumber : d.label) {
                            KnockView(model: try! KnockFormViewModel(app: field, turfId: model.turfId, target: .door(id: d.id), doorHasPeople: !d.people.isEmpty))
                        }
                        ForEach(d.people, id: \.id) { p in
                            NavigationLink(p.displayName) {
                                KnockView(model: try! KnockFormViewModel(app: field, turfId: model.turfId, target: .person(id: p.id), doorHasPeople: true))
                            }
                        }
                    }
                }
            }
        }
        .onAppear { try? model.start(position: nil) }
    }
}

struct KnockView: View {
    @EnvironmentObject var sync: SyncController
    @StateObject var model: KnockFormViewModel
    @Environment(\.dismiss) private var dismiss
    var body: some View {
        Form {
            Picker("Résultat", selection: Binding(get: { model.resultCode ?? "" }, set: { model.chooseResult($0) })) {
                ForEach(model.results, id: \.code) { Text($0.label).tag($0.code) }
            }
            ForEach(model.questions) { q in
                Section(q.text) {
                    if case .yesNo = q.question.kind {
                        Toggle("Oui", isOn: Binding(get: { q.answer == .yesNo(value: true) }, set: { model.answer(q.id, .yesNo(value: $0)) }))
                    } else if case .singleChoice(let choices) = q.question.kind {
                        ForEach(choices, id: \.self) { c in Button(c) { model.answer(q.id, .choice(value: c)) } }
                    } else {
                        TextField("", text: Binding(get: { if case .text(let v) = q.answer { return v } else { return "" } },
                                                    set: { model.answer(q.id, $0.isEmpty ? nil : .text(value: $0)) }))
                    }
                }
            }
            TextField("Note", text: $model.note)
            if let e = model.error { Text(e).foregroundStyle(.red) }
            Button("Enregistrer") { if model.submit(position: nil) != nil { sync.knockRecorded(); dismiss() } }
        }
    }
}
