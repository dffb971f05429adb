package org.doorstep.field

import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale

/** Every sentence the view models hand to the screens, French first. */
enum class Msg(val fr: String, val en: String) {
    OFFLINE(
        "Hors ligne : vos passages sont enregistrés sur le téléphone et partiront dès le retour du réseau.",
        "Offline: your knocks are saved on the phone and will be sent when the network is back.",
    ),
    SYNC_INTERRUPTED(
        "Synchronisation interrompue : %d passage(s) en attente, nouvel essai automatique.",
        "Sync interrupted: %d knock(s) pending, it will retry by itself.",
    ),
    SERVER_BUSY(
        "Serveur occupé : nouvel essai automatique dans %d s.",
        "Server busy: retrying by itself in %d s.",
    ),
    REFUSED("Le serveur a refusé : %s", "The server refused: %s"),
    REVOKED(
        "Cet appareil a été retiré de la campagne : ses données de campagne ont été effacées.",
        "This device was removed from the campaign: its campaign data was erased.",
    ),
    REVOKED_PENDING(
        "Cet appareil a été retiré de la campagne. %d passage(s) pas encore reçus par le serveur sont gardés jusqu'à leur envoi.",
        "This device was removed from the campaign. %d knock(s) the server has not received yet are kept until sent.",
    ),
    STOP_MOVED(
        "« %s » a été confiée à un autre bénévole. Vos passages y sont conservés.",
        "“%s” was given to another volunteer. Your knocks there are kept.",
    ),
    TURF_REMOVED(
        "La tournée « %s » ne vous est plus confiée. Vos passages sont conservés.",
        "The turf “%s” is no longer yours. Your knocks are kept.",
    ),
    BAD_JOIN_LINK("Code ou lien d'invitation illisible.", "Unreadable invitation code or link."),
    JOIN_REFUSED(
        "Invitation refusée (code déjà utilisé ou expiré) : demandez-en une nouvelle.",
        "Invitation refused (code used or expired): ask for a new one.",
    ),
    NO_NETWORK("Pas de réseau : réessayez une fois connecté.", "No network: try again once connected."),
    NEED_RESULT("Choisissez un résultat.", "Choose a result."),
    REQUIRED("Réponse obligatoire : %s", "Answer required: %s"),
    NOT_SAVED("Passage non enregistré : %s", "Knock not saved: %s"),
    FOLLOW_UP_CONSENT(
        "J'accepte de recevoir un SMS de suivi de la campagne à ce numéro. Je peux répondre STOP à tout moment.",
        "I agree to receive one follow-up text from the campaign at this number. I can reply STOP at any time.",
    ),
    FOLLOW_UP_BAD_NUMBER(
        "Numéro de suivi illisible : un numéro français (06 12 34 56 78, +590 690…).",
        "The follow-up number is not a French number (06 12 34 56 78, +590 690…).",
    ),
    NEVER_SYNCED("jamais synchronisé", "never synced"),
    LAST_SYNC("dernière synchro %s", "last sync %s"),
    PENDING("%d en attente", "%d pending"),
    LEASE_UNTIL("jusqu'au %s", "until %s"),
    SEALED("à recevoir du capitaine", "to be handed by the captain"),
    DOOR_SEALED(
        "Cette rue ne vous a pas été remise : demandez-la au capitaine de la séance.",
        "This street has not been handed to you: ask the session's captain.",
    ),
    PLACES_LEFT("%d place(s) restante(s)", "%d place(s) left"),
    SESSION_FULL_SHORT("complet", "full"),
    SESSION_FULL("La séance est complète.", "The session is full."),
    SESSION_OVER("La séance est terminée.", "The session is over."),
    SESSION_CALLED_OFF("La séance est annulée.", "The session was called off."),
    SESSION_CHECKED_IN("Vous avez déjà été accueilli : rien à annuler.", "You were already checked in: nothing to cancel."),
    SESSION_NOT_SIGNED_UP("Inscrivez-vous d'abord.", "Sign up first."),
    STANDING_SIGNED_UP("inscrit", "signed up"),
    STANDING_CONFIRMED("confirmé", "confirmed"),
    STANDING_CHECKED_IN("accueilli", "checked in"),
    STANDING_CANCELLED("annulé", "cancelled"),
    STANDING_NO_SHOW("absent", "no-show"),
    GRANT_REFUSED(
        "Le serveur ne vous a pas autorisé à remettre les rues de cette séance.",
        "The server did not let you hand out this session's streets.",
    ),
    CHECKIN_SHOWN("Code d'accueil : à scanner par les bénévoles", "Check-in code: for volunteers to scan"),
    CHECKIN_EXPIRED("Ce code d'accueil n'est plus valable : demandez au capitaine de l'afficher à nouveau.", "This check-in code is no longer valid: ask the captain to show it again."),
    CHECKIN_UNREADABLE("Ce n'est pas un code d'accueil Doorstep.", "This is not a Doorstep check-in code."),
    HANDED_TO("%s (%d portes) confiée à %s jusqu'au %s", "%s (%d doors) handed to %s until %s"),
    KIND_TEAM("Équipe", "Team"),
    KIND_SESSION("Séance", "Session"),
    KIND_ANNOUNCEMENTS("Annonces", "Announcements"),
    KIND_DIRECT("Message direct", "Direct message"),
    YOU("vous", "you"),
    MESSAGE_PENDING("en attente", "waiting"),
    MESSAGE_DELETED("message supprimé", "message deleted"),
    ROLE_VOLUNTEER("Bénévole", "Volunteer"),
    ROLE_CAPTAIN("Capitaine", "Captain"),
    ROLE_COORDINATOR("Coordinateur", "Coordinator"),
    PERSON_FIGURES("%d portes · %d conversations", "%d doors · %d conversations"),
    COOPAIN_LINKED("Coopains", "Coopains"),
    WITH_COOPAINS("Avec %s", "With %s"),
    PERSON_ON_TURFS("Sur le secteur %s", "On turf %s"),
    COOPAIN_ASKED("Demande envoyée", "Ask sent"),
    COOPAIN_ASKS_YOU("Vous propose d'être coopains", "Asks to be coopains"),
    COOPAIN_NO_ASK("Aucune demande à accepter : synchronisez.", "No ask to accept: sync."),
    PROFILE_BAD_PSEUDONYM("Un pseudonyme fait de 1 à 40 caractères.", "A pseudonym is 1 to 40 characters."),
    PROFILE_BAD_BIO("La présentation fait au plus 280 caractères.", "The few words are at most 280 characters."),
    PROFILE_REFUSED("Refusé : synchronisez puis réessayez.", "Refused: sync and try again."),
    MESSAGE_SENT("envoyé", "sent"),
    MESSAGE_READ_BY("lu par %d", "read by %d"),
    MESSAGE_REFUSED("refusé : %s", "refused: %s"),
    MESSAGE_EMPTY("Le message est vide.", "The message is empty."),
    MESSAGE_TOO_LONG("Un message fait au plus 2 000 caractères.", "A message is at most 2,000 characters."),
    MESSAGE_NOT_ALLOWED("Vous ne pouvez pas écrire ou épingler ici.", "You may not write or pin here."),
    MESSAGE_NO_CHANNEL("Ce canal n'est plus le vôtre : synchronisez.", "This channel is no longer yours: sync."),
    LEASE_OPENED("%s ouverte : %d portes jusqu'au %s", "%s opened: %d doors until %s"),
    LEASE_NOT_FOR_ME("Ce code est destiné à un autre bénévole.", "This code is for another volunteer."),
    CLOCKS_DIFFER("L'heure de ce téléphone et celle du capitaine diffèrent de plus de 10 minutes : mettez-les à l'heure, puis scannez à nouveau.", "This phone's clock and the captain's differ by more than 10 minutes: set them right, then scan again."),
    LEASE_EXPIRED("Ce code a expiré : demandez-en un nouveau au capitaine.", "This code has expired: ask the captain for a new one."),
    LEASE_UNREADABLE("Ce n'est pas un code de remise Doorstep.", "This is not a Doorstep hand-off code."),
    LEASE_FORGED(
        "Code refusé : il ne vient pas d'un capitaine de la campagne.",
        "Code refused: it does not come from a captain of the campaign.",
    ),
    LEASE_NEEDS_SYNC(
        "Synchronisez une fois avec du réseau avant de recevoir une rue.",
        "Sync once with a network before receiving a street.",
    ),
    ;

    fun text(lang: Lang, vararg args: Any?): String = (if (lang == Lang.FR) fr else en).format(*args)
}

/** A date and time as people read it here: `25/11 14:05` in French, `25 Nov 14:05` in English. */
fun shortTime(ms: Long, lang: Lang, zone: ZoneId = ZoneId.systemDefault()): String {
    val f = if (lang == Lang.FR) DateTimeFormatter.ofPattern("dd/MM HH:mm", Locale.FRENCH)
    else DateTimeFormatter.ofPattern("d MMM HH:mm", Locale.ENGLISH)
    return f.format(Instant.ofEpochMilli(ms).atZone(zone))
}
