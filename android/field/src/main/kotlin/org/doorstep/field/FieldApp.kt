package org.doorstep.field

import java.io.File
import java.security.SecureRandom
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uniffi.doorstep.FieldException
import uniffi.doorstep.FieldStore
import uniffi.doorstep.FieldStoreInterface
import uniffi.doorstep.parseJoinLink

/** Where the app stands: not joined yet, working, or erased by a revocation. */
sealed interface AppState {
    data object NeedsJoin : AppState
    data class Ready(val volunteerId: String, val campaignId: String) : AppState
    data class Wiped(val message: String) : AppState
}

/** What the server and the volunteer's token are, kept in the platform keystore. */
data class Credentials(val serverUrl: String, val token: String, val volunteerId: String, val campaignId: String)

/**
 * The app's one handle on the device store and its credentials. The store file is encrypted
 * (SQLCipher) with a random 256-bit key made on first start and kept in the platform keystore;
 * the file is useless without it.
 */
class FieldApp(
    private val dir: File,
    private val secrets: SecretStore,
    val scheduler: SyncScheduler,
    val clock: Clock = SystemClock,
    var lang: Lang = Lang.FR,
) : AutoCloseable {
    private val dbFile = File(dir, DB_NAME)
    private var opened: FieldStoreInterface? = null

    private val _state = MutableStateFlow<AppState>(AppState.NeedsJoin)
    val state: StateFlow<AppState> = _state

    init {
        dir.mkdirs()
        val wipedMessage = secrets.get(WIPED)
        val c = credentials()
        _state.value = when {
            wipedMessage != null && c == null -> AppState.Wiped(wipedMessage)
            c != null -> AppState.Ready(c.volunteerId, c.campaignId)
            else -> AppState.NeedsJoin
        }
        // A lease that ended or a campaign past retention leaves the phone at start (unsent
        // reports stay until the server has them).
        if (dbFile.exists()) store.purgeExpired()
    }

    /** The device store, opened on first use with the keystore's key. */
    val store: FieldStoreInterface
        get() = opened ?: FieldStore.open(dbFile.path, storeKey()).also { opened = it }

    val deviceId: String get() = store.deviceId()

    private fun storeKey(): String = secrets.get(KEY) ?: run {
        val bytes = ByteArray(32).also { SecureRandom().nextBytes(it) }
        bytes.joinToString("") { "%02x".format(it) }.also { secrets.put(KEY, it) }
    }

    fun credentials(): Credentials? {
        val url = secrets.get(SERVER) ?: return null
        val token = secrets.get(TOKEN) ?: return null
        return Credentials(url, token, secrets.get(VOLUNTEER) ?: "", secrets.get(CAMPAIGN) ?: "")
    }

    /**
     * Joins with an invitation: a `doorstep://join` link from the QR code, or a code typed with the
     * server address given by the campaign. Returns null when joined, else the message to show.
     */
    suspend fun join(input: String, server: String? = null): String? {
        // The core reads the link (one parser for both shells: `parse_join_link`).
        val link = try {
            parseJoinLink(input, server)
        } catch (e: FieldException.InvalidInput) {
            return Msg.BAD_JOIN_LINK.text(lang)
        }
        return try {
            val info = store.join(link.serverUrl, link.code)
            secrets.put(SERVER, link.serverUrl)
            secrets.put(TOKEN, info.token)
            secrets.put(VOLUNTEER, info.volunteerId)
            secrets.put(CAMPAIGN, info.campaignId)
            secrets.remove(WIPED)
            _state.value = AppState.Ready(info.volunteerId, info.campaignId)
            null
        } catch (e: FieldException.Refused) {
            Msg.JOIN_REFUSED.text(lang)
        } catch (e: FieldException.Network) {
            Msg.NO_NETWORK.text(lang)
        }
    }

    /**
     * The server ordered this device wiped. The core has already erased the campaign's data but
     * kept reports the server has not acknowledged; once there are none, the files and the key go.
     */
    internal fun onWiped(reportsKeptPending: Int) {
        if (reportsKeptPending > 0) {
            _state.value = AppState.Wiped(Msg.REVOKED_PENDING.text(lang, reportsKeptPending))
            return
        }
        close()
        for (suffix in listOf("", "-wal", "-shm", "-journal")) File(dbFile.path + suffix).delete()
        for (name in listOf(KEY, TOKEN, SERVER, VOLUNTEER, CAMPAIGN)) secrets.remove(name)
        scheduler.cancel()
        val message = Msg.REVOKED.text(lang)
        secrets.put(WIPED, message)
        _state.value = AppState.Wiped(message)
    }

    /** Files the app keeps for the store (for the wipe test and the settings screen). */
    fun storeFiles(): List<File> =
        listOf("", "-wal", "-shm").map { File(dbFile.path + it) }.filter { it.exists() }

    override fun close() {
        (opened as? AutoCloseable)?.close()
        opened = null
    }

    companion object {
        const val DB_NAME = "doorstep-field.db"
        const val KEY = "store_key"
        const val SERVER = "server_url"
        const val TOKEN = "token"
        const val VOLUNTEER = "volunteer_id"
        const val CAMPAIGN = "campaign_id"
        const val WIPED = "wiped_message"
    }
}
