package org.doorstep.field

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uniffi.doorstep.FieldException
import uniffi.doorstep_core.ChannelSummary
import uniffi.doorstep_core.ThreadMessage

/** One line of the channel list. */
data class ChannelRow(
    val id: String,
    /** `Équipe`, `Séance`, `Annonces`, `Message direct`. */
    val kind: String,
    val title: String,
    val unread: Int,
    /** The last message's text, for the list. */
    val last: String?,
    val canPost: Boolean,
)

/** One message of a thread, as the screen shows it. */
data class MessageRow(
    val id: String,
    /** The author's name, or `vous`. */
    val author: String,
    val body: String,
    val mine: Boolean,
    /** For one's own messages: `en attente`, `envoyé`, `lu par 2` or `refusé : …`; null for others'. */
    val status: String?,
    val pinned: Boolean,
    /** What it points at: a door id, or a street (with its turf). */
    val doorId: String?,
    val street: String?,
    val turfId: String?,
)

/** The open thread and its composer. */
/** Where a message points: a door or a street, on a turf this phone holds. */
data class MapTarget(val turfId: String, val doorId: String?, val street: String?)

data class ThreadUi(
    val channelId: String? = null,
    val title: String = "",
    val pinned: String? = null,
    val messages: List<MessageRow> = emptyList(),
    val canPost: Boolean = false,
    val canPin: Boolean = false,
    /** Why the last action changed nothing, in the volunteer's language. */
    val error: String? = null,
)

/**
 * The team's channels and one open thread: reading, writing (with no network: the message shows
 * at once as `en attente`, then `envoyé` once synced, then `lu par n`), pinning for a captain.
 * Everything goes through the phone's store; the sync carries it.
 */
class MessagesViewModel(private val app: FieldApp) {
    private val _channels = MutableStateFlow<List<ChannelRow>>(emptyList())
    val channels: StateFlow<List<ChannelRow>> = _channels
    private val _thread = MutableStateFlow(ThreadUi())
    val thread: StateFlow<ThreadUi> = _thread

    private fun kind(c: ChannelSummary): String = when (c.kind) {
        "team" -> Msg.KIND_TEAM
        "session" -> Msg.KIND_SESSION
        "announcements" -> Msg.KIND_ANNOUNCEMENTS
        else -> Msg.KIND_DIRECT
    }.text(app.lang)

    /**
     * While the screen is open and online: waits up to [waitMs] for the team's messages (the
     * server answers as soon as one lands) and shows them. The shell calls it in a loop from its
     * foreground scope; a network failure returns -1 (the loop backs off; the sync still runs).
     */
    suspend fun listen(waitMs: Long = 25_000): Int {
        val creds = app.credentials() ?: return -1
        val n = try {
            app.store.listenMessages(creds.serverUrl, creds.token, waitMs.toULong()).toInt()
        } catch (e: FieldException) {
            return -1
        }
        if (n > 0) refresh()
        return n
    }

    /**
     * Where a message of the open thread points (tap → map): its street's turf, or the turf of
     * this phone that holds its door. Null when it points nowhere this phone can show.
     */
    fun target(messageId: String): MapTarget? {
        val m = _thread.value.messages.firstOrNull { it.id == messageId } ?: return null
        if (m.street != null && m.turfId != null) {
            return MapTarget(m.turfId, null, m.street).takeIf { t -> app.store.turfs().any { it.id == t.turfId } }
        }
        val door = m.doorId ?: return null
        val turf = app.store.turfs().firstOrNull { t ->
            val p = app.store.routeProgress(t.id)
            (p.remaining + p.done).any { stop -> stop.doors.any { it.id == door } }
        } ?: return null
        return MapTarget(turf.id, door, null)
    }

    /** Reloads the list and the open thread from the store (after a sync, say). */
    fun refresh() {
        val ready = app.state.value is AppState.Ready
        val list = if (ready) app.store.channels() else emptyList()
        _channels.value = list.map { ChannelRow(it.id, kind(it), it.title, it.unread.toInt(), it.last, it.canPost) }
        _thread.value.channelId?.let { id -> show(id, list.firstOrNull { it.id == id }, null) }
    }

    /** Opens a channel: its messages, and everything in it read (the marker only rises). */
    fun open(channelId: String) {
        val c = app.store.channels().firstOrNull { it.id == channelId }
        if (c != null) app.store.markRead(channelId)
        show(channelId, c, if (c == null) Msg.MESSAGE_NO_CHANNEL.text(app.lang) else null)
        _channels.value = app.store.channels().map { ChannelRow(it.id, kind(it), it.title, it.unread.toInt(), it.last, it.canPost) }
    }

    private fun status(m: ThreadMessage): String? = when {
        !m.mine -> null
        m.state == "pending" -> Msg.MESSAGE_PENDING.text(app.lang)
        m.state == "rejected" -> Msg.MESSAGE_REFUSED.text(app.lang, m.reason ?: "")
        m.readBy > 0u -> Msg.MESSAGE_READ_BY.text(app.lang, m.readBy.toInt())
        else -> Msg.MESSAGE_SENT.text(app.lang)
    }

    private fun show(channelId: String, c: ChannelSummary?, error: String?) {
        val messages = app.store.thread(channelId).map { m ->
            MessageRow(
                id = m.id,
                author = if (m.mine) Msg.YOU.text(app.lang) else m.authorName,
                // Emptied by its author's account deletion (GDPR article 17).
                body = m.body.ifEmpty { Msg.MESSAGE_DELETED.text(app.lang) },
                mine = m.mine,
                status = status(m),
                pinned = c?.pinned != null && c.pinned == m.body,
                doorId = m.doorId,
                street = m.street,
                turfId = m.turfId,
            )
        }
        _thread.value = ThreadUi(channelId, c?.title ?: "", c?.pinned, messages, c?.canPost ?: false, c?.canPin ?: false, error)
    }

    private fun refused(e: FieldException): String = when (refusalCode(e)) {
        "empty_message" -> Msg.MESSAGE_EMPTY
        "bad_text" -> Msg.MESSAGE_TOO_LONG
        "not_allowed" -> Msg.MESSAGE_NOT_ALLOWED
        else -> Msg.MESSAGE_NO_CHANNEL
    }.text(app.lang)

    /** Writes in the open thread, with or without a network; returns whether it was kept. */
    fun send(text: String, doorId: String? = null, street: String? = null, turfId: String? = null): Boolean {
        val id = _thread.value.channelId ?: return false
        return try {
            app.store.postMessage(id, text, doorId, street, turfId)
            refresh()
            true
        } catch (e: FieldException) {
            _thread.value = _thread.value.copy(error = refused(e))
            false
        }
    }

    /** A captain pins a message of the open thread (null: unpins). */
    fun pin(messageId: String?) {
        val id = _thread.value.channelId ?: return
        try {
            app.store.pinMessage(id, messageId)
            _thread.value = _thread.value.copy(error = null)
        } catch (e: FieldException) {
            _thread.value = _thread.value.copy(error = refused(e))
        }
    }
}
