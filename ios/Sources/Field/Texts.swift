// Mirror of Texts.kt: the same sentences, French first.
import Foundation

public enum Msg {
    case offline, syncInterrupted(Int), serverBusy(Int64), refused(String), revoked, revokedPending(Int)
    case stopMoved(String), turfRemoved(String), badJoinLink, joinRefused, noNetwork, needResult, required(String)
    case notSaved(String), pending(Int), neverSynced, lastSync(String), followUpConsent, followUpBadNumber

    public func text(_ lang: Lang) -> String {
        let fr = lang == .fr
        switch self {
        case .offline: return fr ? "Hors ligne : vos passages sont enregistrés sur le téléphone et partiront dès le retour du réseau." : "Offline: your knocks are saved on the phone and will be sent when the network is back."
        case .syncInterrupted(let n): return fr ? "Synchronisation interrompue : \(n) passage(s) en attente, nouvel essai automatique." : "Sync interrupted: \(n) knock(s) pending, it will retry by itself."
        case .serverBusy(let s): return fr ? "Serveur occupé : nouvel essai automatique dans \(s) s." : "Server busy: retrying by itself in \(s) s."
        case .refused(let r): return fr ? "Le serveur a refusé : \(r)" : "The server refused: \(r)"
        case .revoked: return fr ? "Cet appareil a été retiré de la campagne : ses données de campagne ont été effacées." : "This device was removed from the campaign: its campaign data was erased."
        case .revokedPending(let n): return fr ? "Cet appareil a été retiré de la campagne. \(n) passage(s) pas encore reçus par le serveur sont gardés jusqu'à leur envoi." : "This device was removed from the campaign. \(n) knock(s) the server has not received yet are kept until sent."
        case .stopMoved(let a): return fr ? "« \(a) » a été confiée à un autre bénévole. Vos passages y sont conservés." : "“\(a)” was given to another volunteer. Your knocks there are kept."
        case .turfRemoved(let t): return fr ? "La tournée « \(t) » ne vous est plus confiée. Vos passages sont conservés." : "The turf “\(t)” is no longer yours. Your knocks are kept."
        case .badJoinLink: return fr ? "Code ou lien d'invitation illisible." : "Unreadable invitation code or link."
        case .joinRefused: return fr ? "Invitation refusée (code déjà utilisé ou expiré) : demandez-en une nouvelle." : "Invitation refused (code used or expired): ask for a new one."
        case .noNetwork: return fr ? "Pas de réseau : réessayez une fois connecté." : "No network: try again once connected."
        case .needResult: return fr ? "Choisissez un résultat." : "Choose a result."
        case .required(let q): return fr ? "Réponse obligatoire : \(q)" : "Answer required: \(q)"
        case .notSaved(let r): return fr ? "Passage non enregistré : \(r)" : "Knock not saved: \(r)"
        case .pending(let n): return fr ? "\(n) en attente" : "\(n) pending"
        case .neverSynced: return fr ? "jamais synchronisé" : "never synced"
        case .lastSync(let t): return fr ? "dernière synchro \(t)" : "last sync \(t)"
        case .followUpConsent: return fr ? "J'accepte de recevoir un SMS de suivi de la campagne à ce numéro. Je peux répondre STOP à tout moment." : "I agree to receive one follow-up text from the campaign at this number. I can reply STOP at any time."
        case .followUpBadNumber: return fr ? "Numéro de suivi illisible : un numéro français (06 12 34 56 78, +590 690…)." : "The follow-up number is not a French number (06 12 34 56 78, +590 690…)."
        }
    }
}
