package org.doorstep.field

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import uniffi.doorstep.FieldException
import uniffi.doorstep.SyncListener
import uniffi.doorstep.syncBackoffMs
import uniffi.doorstep_core.SyncPhase
import uniffi.doorstep_core.SyncReport

/** The sync status line and offline banner. */
data class SyncUi(
    val pending: Int = 0,
    val lastSyncMs: Long? = null,
    /** `3 en attente, dernière synchro 25/11 14:05`. */
    val summary: String = "",
    val online: Boolean = true,
    /** Shown across the top while offline or after a failed sync; null when all is well. */
    val banner: String? = null,
    val syncing: Boolean = false,
    val phase: SyncPhase? = null,
    /** Failed attempts in a row; the next retry waits longer after each. */
    val failures: Int = 0,
    /** When the platform was asked to retry, from now; null when nothing is scheduled. */
    val retryInMs: Long? = null,
)

/** What one sync did, for the screens that must react (route, turf list, wipe). */
sealed interface SyncOutcome {
    data class Done(val report: SyncReport) : SyncOutcome
    /** Nothing was attempted: offline, not joined, or a sync already running. */
    data class Skipped(val why: String) : SyncOutcome
    data class Failed(val message: String, val retryInMs: Long) : SyncOutcome
    data class Refused(val message: String) : SyncOutcome
    data object Wiped : SyncOutcome
}

/**
 * Push then pull, one attempt per call, and the platform scheduler for every retry: no loop, no
 * sleep, no wake lock held while the network is away. Retries back off from 30 s, doubling to
 * 30 min; on low battery they wait at least 15 min and only run once the battery is not low. A
 * knock asks for a sync at once (with a network), so reports leave the phone early.
 */
class SyncController(private val app: FieldApp) {
    private val _state = MutableStateFlow(SyncUi())
    val state: StateFlow<SyncUi> = _state
    private val running = Mutex()
    private var batteryLow = false
    private val listeners = java.util.concurrent.CopyOnWriteArrayList<(SyncOutcome) -> Unit>()

    init {
        refresh()
    }

    /** Screens that must react to a sync (the route, the turf list) register here; call the
     *  returned function when the screen goes away. */
    fun onSynced(listener: (SyncOutcome) -> Unit): () -> Unit {
        listeners += listener
        return { listeners -= listener }
    }

    /** Reads pending count and last sync from the store (after a knock, at start). */
    fun refresh() {
        if (app.state.value is AppState.Wiped && app.credentials() == null) {
            _state.value = _state.value.copy(pending = 0, summary = "", banner = (app.state.value as AppState.Wiped).message)
            return
        }
        val s = app.store.syncStatus()
        val lang = app.lang
        val last = s.lastSyncMs?.let { Msg.LAST_SYNC.text(lang, shortTime(it, lang)) } ?: Msg.NEVER_SYNCED.text(lang)
        _state.value = _state.value.copy(
            pending = s.pending.toInt(),
            lastSyncMs = s.lastSyncMs,
            summary = Msg.PENDING.text(lang, s.pending.toInt()) + ", " + last,
            banner = banner(_state.value.online, _state.value.failures, s.pending.toInt()),
        )
    }

    private fun banner(online: Boolean, failures: Int, pending: Int): String? = when {
        !online -> Msg.OFFLINE.text(app.lang)
        failures > 0 -> Msg.SYNC_INTERRUPTED.text(app.lang, pending)
        else -> null
    }

    /** The platform's connectivity callback. Coming back online with reports pending asks for a sync. */
    fun setOnline(online: Boolean) {
        _state.value = _state.value.copy(online = online)
        refresh()
        if (online && _state.value.pending > 0) app.scheduler.schedule(0, batteryLow)
    }

    fun setBatteryLow(low: Boolean) {
        batteryLow = low
    }

    /** After a knock: the report should leave soon; the platform runs the sync when it can. */
    fun knockRecorded() {
        refresh()
        if (_state.value.failures == 0) app.scheduler.schedule(0, batteryLow)
    }

    /** The delay before the next automatic try after `failures` failures in a row: the core's schedule. */
    fun backoffMs(failures: Int): Long = syncBackoffMs(failures.coerceAtLeast(0).toUInt(), batteryLow).toLong()

    /** The "Synchroniser" button and the platform's scheduled run both come here. */
    suspend fun syncNow(): SyncOutcome {
        val creds = app.credentials() ?: return SyncOutcome.Skipped("not joined").also { emit(it) }
        if (!_state.value.online) {
            // No attempt without a network: the platform runs us when it is back.
            app.scheduler.schedule(0, batteryLow)
            return SyncOutcome.Skipped("offline").also { emit(it) }
        }
        if (!running.tryLock()) return SyncOutcome.Skipped("already syncing")
        val outcome = try {
            attempt(creds)
        } finally {
            running.unlock()
        }
        emit(outcome)
        return outcome
    }

    private suspend fun attempt(creds: Credentials): SyncOutcome {
        _state.value = _state.value.copy(syncing = true)
        val listener = object : SyncListener {
            override fun onProgress(phase: SyncPhase, pending: UInt, attempt: UInt) {
                _state.value = _state.value.copy(phase = phase, pending = pending.toInt())
            }
        }
        val outcome = try {
            val report = app.store.syncOnce(creds.serverUrl, creds.token, listener)
            _state.value = _state.value.copy(failures = 0, retryInMs = null)
            if (report.pull.wiped) {
                app.onWiped(report.pull.reportsKeptPending.toInt())
                SyncOutcome.Wiped
            } else {
                app.scheduler.cancel()
                SyncOutcome.Done(report)
            }
        } catch (e: FieldException.Network) {
            failed(0)
        } catch (e: FieldException.Busy) {
            failed(e.retryAfterMs.toLong())
        } catch (e: FieldException.Refused) {
            SyncOutcome.Refused(Msg.REFUSED.text(app.lang, e.reason))
        } finally {
            _state.value = _state.value.copy(syncing = false)
        }
        if (app.credentials() != null) refresh()
        if (outcome is SyncOutcome.Refused) _state.value = _state.value.copy(banner = outcome.message)
        if (outcome is SyncOutcome.Wiped) _state.value = _state.value.copy(banner = (app.state.value as AppState.Wiped).message, pending = 0)
        return outcome
    }

    private fun failed(serverAskedMs: Long): SyncOutcome {
        val failures = _state.value.failures + 1
        val delay = maxOf(backoffMs(failures), serverAskedMs)
        app.scheduler.schedule(delay, batteryLow)
        _state.value = _state.value.copy(failures = failures, retryInMs = delay)
        val message = if (serverAskedMs > 0) Msg.SERVER_BUSY.text(app.lang, delay / 1000)
        else Msg.SYNC_INTERRUPTED.text(app.lang, app.store.pendingCount().toInt())
        return SyncOutcome.Failed(message, delay)
    }

    private fun emit(outcome: SyncOutcome) = listeners.forEach { it(outcome) }

    companion object {
        /** The core's schedule (`sync_backoff_ms`): first wait, longest wait, least wait on low battery. */
        val BASE_MS: Long get() = syncBackoffMs(1u, false).toLong()
        val MAX_MS: Long get() = syncBackoffMs(UInt.MAX_VALUE, false).toLong()
        val LOW_BATTERY_MS: Long get() = syncBackoffMs(1u, true).toLong()
    }
}
