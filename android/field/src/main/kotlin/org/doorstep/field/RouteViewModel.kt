package org.doorstep.field

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uniffi.doorstep.FieldException
import uniffi.doorstep_core.PairSide
import uniffi.doorstep_core.PersonView
import uniffi.doorstep_core.RouteStop
import uniffi.doorstep_protocol.Position

/** One line of the turf list. */
data class TurfRow(
    val id: String,
    val name: String,
    val campaign: String,
    val doors: Int,
    val knocked: Int,
    /** `jusqu'au 02/12 18:00`, or null without a lease end. */
    val lease: String?,
    /** A session's turf held sealed: its doors open when the captain hands a street of it. */
    val sealed: Boolean = false,
)

/** The volunteer's turfs: what they hold on this phone and how far along each is. */
class TurfListViewModel(private val app: FieldApp) {
    private val _rows = MutableStateFlow<List<TurfRow>>(emptyList())
    val rows: StateFlow<List<TurfRow>> = _rows

    fun refresh() {
        if (app.state.value !is AppState.Ready) {
            _rows.value = emptyList()
            return
        }
        _rows.value = app.store.turfs().map { t ->
            val p = app.store.routeProgress(t.id)
            TurfRow(
                id = t.id,
                name = t.name,
                campaign = t.campaignName,
                doors = t.doors.toInt(),
                knocked = p.doorsKnocked.toInt(),
                lease = if (t.sealed) Msg.SEALED.text(app.lang)
                else t.leaseExpiresMs?.let { Msg.LEASE_UNTIL.text(app.lang, shortTime(it, app.lang)) },
                sealed = t.sealed,
            )
        }
    }
}

/** The walk through one turf: the next stop, what is left, and what changed under the volunteer. */
data class RouteUi(
    val turfId: String,
    val next: RouteStop? = null,
    val remaining: Int = 0,
    val doorsKnocked: Int = 0,
    val doorsTotal: Int = 0,
    val walkMetres: Int = 0,
    /** Every stop in walking order, for the turf map: still to do, then done. */
    val stops: List<RouteStop> = emptyList(),
    val done: List<RouteStop> = emptyList(),
    /** A change the volunteer must read (their street moved to someone else, the turf was taken back). */
    val message: String? = null,
    /** The turf is no longer on this phone. */
    val gone: Boolean = false,
    /** Buildings a message pointed at (a door, a street): the map centres on them and marks them. */
    val focus: List<String> = emptyList(),
)

class RouteViewModel(private val app: FieldApp, val turfId: String) {
    private val _state = MutableStateFlow(RouteUi(turfId))
    val state: StateFlow<RouteUi> = _state
    private var turfName: String = turfId

    /** Orders the turf into a walk from `position` (street network when the package has one). */
    fun start(position: Position?, side: PairSide? = null, roundTrip: Boolean = false) {
        turfName = app.store.turfs().firstOrNull { it.id == turfId }?.name ?: turfId
        show(app.store.computeRoute(turfId, position, side, roundTrip), null)
    }

    /** After a knock or a sync. Says so when the stop the volunteer was heading to left their hands. */
    fun refresh() {
        val before = _state.value.next
        if (app.state.value !is AppState.Ready || app.store.turfs().none { it.id == turfId }) {
            _state.value = RouteUi(turfId, message = Msg.TURF_REMOVED.text(app.lang, turfName), gone = true)
            return
        }
        val progress = try {
            app.store.routeProgress(turfId)
        } catch (e: FieldException.UnknownId) {
            _state.value = RouteUi(turfId, message = Msg.TURF_REMOVED.text(app.lang, turfName), gone = true)
            return
        }
        val stillHere = before == null ||
            (progress.remaining + progress.done).any { it.buildingId == before.buildingId }
        val message = if (stillHere) _state.value.message else Msg.STOP_MOVED.text(app.lang, before!!.address)
        show(progress, message)
    }

    /**
     * Opens what a team message points at (issue 18): the building of a door, or every building of
     * a street, marked on the turf map. Returns false (and marks nothing) when it is not on this
     * turf any more.
     */
    fun focus(target: MapTarget): Boolean {
        val p = app.store.routeProgress(turfId)
        val stops = p.remaining + p.done
        val ids = stops.filter { stop ->
            (target.doorId != null && stop.doors.any { it.id == target.doorId }) || (target.street != null && stop.street == target.street)
        }.map { it.buildingId }
        _state.value = _state.value.copy(focus = ids)
        return ids.isNotEmpty()
    }

    fun dismissMessage() {
        _state.value = _state.value.copy(message = null)
    }

    /** The people of a door, for the household screen (voter-file campaigns; empty otherwise). */
    fun household(doorId: String): List<PersonView> {
        val p = app.store.routeProgress(turfId)
        return (p.remaining + p.done).flatMap { it.doors }.firstOrNull { it.id == doorId }?.people.orEmpty()
    }

    private fun show(p: uniffi.doorstep_core.RouteProgress, message: String?) {
        _state.value = RouteUi(
            turfId = turfId,
            next = p.next,
            remaining = p.remaining.size,
            doorsKnocked = p.doorsKnocked.toInt(),
            doorsTotal = p.doorsTotal.toInt(),
            walkMetres = p.totalWalkM.toInt(),
            stops = p.remaining,
            done = p.done,
            message = message,
        )
    }
}
