package org.doorstep.field

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uniffi.doorstep.FieldException
import uniffi.doorstep_core.LeaseView
import uniffi.doorstep_core.SessionView
import uniffi.doorstep_core.StreetDoors
import uniffi.doorstep_protocol.Attendance
import uniffi.doorstep_protocol.SignupKind

/** The stable code a rule-book refusal starts with (`not_for_me: …`), or null. */
internal fun refusalCode(e: FieldException): String? =
    (e as? FieldException.InvalidInput)?.reason?.substringBefore(':')?.takeIf { c -> c.all { it.isLowerCase() || it == '_' } }

/** One line of the sessions list. */
data class SessionRow(
    val id: String,
    val title: String,
    /** `06/12 10:00 → 06/12 13:00`. */
    val time: String,
    val meeting: String,
    /** `3 places restantes`, or `complet`. */
    val places: String,
    /** `inscrit`, `confirmé`, `accueilli`, `annulé`, `absent`, or null. */
    val standing: String?,
    /** The sign-up is on the phone, waiting for the network (`en attente d'envoi`). */
    val pending: Boolean,
    val captain: Boolean,
    val cancelled: Boolean,
    val canSignUp: Boolean,
    val canConfirm: Boolean,
    val canCancel: Boolean,
    /** `Avec Léa, Noé` when coopains are going; null otherwise. */
    val withCoopains: String? = null,
)

/** A session reminder on the sessions screen. */
data class ReminderRow(val id: String, val sessionId: String, val text: String)

/** The sessions the volunteer may see, and their sign-up, confirmation or cancellation — offline. */
class SessionsViewModel(private val app: FieldApp) {
    private val _rows = MutableStateFlow<List<SessionRow>>(emptyList())
    val rows: StateFlow<List<SessionRow>> = _rows
    private val _message = MutableStateFlow<String?>(null)
    /** Why the last action changed nothing, in the volunteer's language. */
    val message: StateFlow<String?> = _message

    private val _reminders = MutableStateFlow<List<ReminderRow>>(emptyList())
    /** Session reminders to show above the list (the server's text, in French), until dismissed. */
    val reminders: StateFlow<List<ReminderRow>> = _reminders

    fun refresh() {
        val ready = app.state.value is AppState.Ready
        _rows.value = if (ready) app.store.sessions().map(::row) else emptyList()
        _reminders.value = if (ready) app.store.reminders().map { ReminderRow(it.id, it.sessionId, it.text) } else emptyList()
    }

    /** The volunteer has read a reminder: it is not shown again, even when the server serves it again. */
    fun dismissReminder(id: String) {
        app.store.dismissReminder(id)
        refresh()
    }

    /** At the meeting point, with no network: scans the captain's check-in code. */
    fun checkIn(qrText: String) {
        _message.value = try {
            app.store.checkIn(qrText)
            null
        } catch (e: FieldException) {
            when (refusalCode(e)) {
                "lease_expired" -> Msg.CHECKIN_EXPIRED.text(app.lang)
                "lease_not_yet" -> Msg.CLOCKS_DIFFER.text(app.lang)
                "handoff_malformed", "handoff_too_long" -> Msg.CHECKIN_UNREADABLE.text(app.lang)
                "session_over" -> Msg.SESSION_OVER.text(app.lang)
                "session_called_off" -> Msg.SESSION_CALLED_OFF.text(app.lang)
                else -> Msg.LEASE_FORGED.text(app.lang)
            }
        }
        refresh()
    }

    fun signUp(id: String) = act(id, SignupKind.SIGN_UP)
    fun confirm(id: String) = act(id, SignupKind.CONFIRM)
    fun cancel(id: String) = act(id, SignupKind.CANCEL)

    private fun act(id: String, kind: SignupKind) {
        _message.value = try {
            app.store.signUp(id, kind)
            null
        } catch (e: FieldException) {
            when (refusalCode(e)) {
                "session_full" -> Msg.SESSION_FULL.text(app.lang)
                "session_over" -> Msg.SESSION_OVER.text(app.lang)
                "session_called_off" -> Msg.SESSION_CALLED_OFF.text(app.lang)
                "checked_in" -> Msg.SESSION_CHECKED_IN.text(app.lang)
                "not_signed_up" -> Msg.SESSION_NOT_SIGNED_UP.text(app.lang)
                else -> Msg.REFUSED.text(app.lang, (e as? FieldException.InvalidInput)?.reason ?: e.toString())
            }
        }
        refresh()
    }

    private fun row(s: SessionView): SessionRow {
        val over = app.clock.nowMs() >= s.endMs
        val standing = s.standing
        val active = standing == Attendance.SIGNED_UP || standing == Attendance.CONFIRMED
        return SessionRow(
            id = s.id,
            title = s.title,
            time = "${shortTime(s.startMs, app.lang)} → ${shortTime(s.endMs, app.lang)}",
            meeting = s.meetingText,
            places = if (s.placesLeft == 0u) Msg.SESSION_FULL_SHORT.text(app.lang) else Msg.PLACES_LEFT.text(app.lang, s.placesLeft.toInt()),
            standing = standing?.let { standingText(it) },
            pending = s.pending,
            captain = s.captain,
            cancelled = s.cancelled,
            canSignUp = !over && !s.cancelled && !s.captain && !active && standing != Attendance.CHECKED_IN && s.placesLeft > 0u,
            canConfirm = !over && !s.cancelled && standing == Attendance.SIGNED_UP,
            canCancel = !over && active,
            withCoopains = s.coopains.takeIf { it.isNotEmpty() }?.let { Msg.WITH_COOPAINS.text(app.lang, it.joinToString(", ")) },
        )
    }

    private fun standingText(a: Attendance): String = when (a) {
        Attendance.SIGNED_UP -> Msg.STANDING_SIGNED_UP
        Attendance.CONFIRMED -> Msg.STANDING_CONFIRMED
        Attendance.CHECKED_IN -> Msg.STANDING_CHECKED_IN
        Attendance.CANCELLED -> Msg.STANDING_CANCELLED
        Attendance.NO_SHOW -> Msg.STANDING_NO_SHOW
    }.text(app.lang)
}

/** What the captain's hand-out screen shows. */
data class HandOutUi(
    /** The phone holds its grant for the session: it can hand out with no network. */
    val ready: Boolean = false,
    /** The session's turfs this phone holds, and the streets of the one chosen. */
    val turfs: List<TurfRow> = emptyList(),
    val streets: List<StreetDoors> = emptyList(),
    /** The QR code's text to show, after a hand-out. */
    val qrText: String? = null,
    /** `Rue Bisson (24 portes) confiée à lea jusqu'au 06/12 13:00`. */
    val given: String? = null,
    val message: String? = null,
)

/**
 * The captain at the meeting point: before the session (online) the phone gets its grant; then,
 * with no network, it hands a turf or one street of it to a volunteer by QR code.
 */
class HandOutViewModel(private val app: FieldApp, val sessionId: String) {
    private val _state = MutableStateFlow(HandOutUi())
    val state: StateFlow<HandOutUi> = _state

    /** Online, before the session: asks the server for this phone's grant. */
    suspend fun prepare(): Boolean {
        val c = app.credentials() ?: return false
        return try {
            app.store.requestGrant(c.serverUrl, c.token, sessionId)
            _state.value = _state.value.copy(ready = true, message = null)
            refresh()
            true
        } catch (e: FieldException.Network) {
            _state.value = _state.value.copy(message = Msg.NO_NETWORK.text(app.lang))
            false
        } catch (e: FieldException) {
            _state.value = _state.value.copy(message = Msg.GRANT_REFUSED.text(app.lang))
            false
        }
    }

    fun refresh() {
        _state.value = _state.value.copy(turfs = TurfListViewModel(app).apply { refresh() }.rows.value)
    }

    fun chooseTurf(turfId: String) {
        _state.value = _state.value.copy(streets = app.store.turfStreets(turfId))
    }

    /** With no network: the check-in code to show at the meeting point (open `minutes`). */
    fun showCheckinCode(minutes: Int = 60) {
        _state.value = try {
            _state.value.copy(qrText = app.store.checkinCode(sessionId, minutes.toUInt()), given = Msg.CHECKIN_SHOWN.text(app.lang), message = null)
        } catch (e: FieldException) {
            _state.value.copy(qrText = null, message = Msg.REFUSED.text(app.lang, (e as? FieldException.InvalidInput)?.reason ?: e.toString()))
        }
    }

    /** With no network: checks in a volunteer the captain sees at the meeting point. */
    fun confirmCheckIn(volunteerId: String) {
        app.store.confirmCheckIn(sessionId, volunteerId)
    }

    /** With no network: signs the lease and shows its QR code. `street` null hands the whole turf. */
    fun give(volunteerId: String, turfId: String, street: String?, minutes: Int = 180) {
        _state.value = try {
            val code = app.store.giveHandoff(sessionId, volunteerId, turfId, street, minutes.toUInt())
            val what = street ?: (_state.value.turfs.firstOrNull { it.id == turfId }?.name ?: turfId)
            _state.value.copy(
                qrText = code.qrText,
                given = Msg.HANDED_TO.text(app.lang, what, code.lease.doors.toInt(), volunteerId, shortTime(code.lease.expiresMs, app.lang)),
                message = null,
            )
        } catch (e: FieldException) {
            _state.value.copy(qrText = null, given = null, message = Msg.REFUSED.text(app.lang, (e as? FieldException.InvalidInput)?.reason ?: e.toString()))
        }
    }
}

/** What the volunteer's phone says after scanning a captain's code. */
data class LeaseUi(val opened: String? = null, val error: String? = null, val lease: LeaseView? = null)

/** The volunteer scans the captain's code at the meeting point, with no network. */
class LeaseReceiveViewModel(private val app: FieldApp) {
    private val _state = MutableStateFlow(LeaseUi())
    val state: StateFlow<LeaseUi> = _state

    fun scan(text: String) {
        _state.value = try {
            val l = app.store.receiveHandoff(text)
            val what = l.street ?: l.turfId
            LeaseUi(opened = Msg.LEASE_OPENED.text(app.lang, what, l.doors.toInt(), shortTime(l.expiresMs, app.lang)), lease = l)
        } catch (e: FieldException) {
            LeaseUi(
                error = when (refusalCode(e)) {
                    "not_for_me" -> Msg.LEASE_NOT_FOR_ME
                    "lease_expired" -> Msg.LEASE_EXPIRED
                    "lease_not_yet" -> Msg.CLOCKS_DIFFER
                    "handoff_malformed", "handoff_too_long" -> Msg.LEASE_UNREADABLE
                    "grant_forged", "handoff_forged", "grant_mismatch", "outside_grant", "lease_too_long" -> Msg.LEASE_FORGED
                    else -> Msg.LEASE_NEEDS_SYNC
                }.text(app.lang),
            )
        }
    }
}
