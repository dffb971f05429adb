package org.doorstep.field

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uniffi.doorstep.FieldException
import uniffi.doorstep_core.PersonCard
import uniffi.doorstep_protocol.Audience
import uniffi.doorstep_protocol.CoopainStep
import uniffi.doorstep_protocol.FieldVisibility
import uniffi.doorstep_protocol.ProfileSettings

/** A person as the people screens list them (issue 18). */
data class PersonRow(
    val userId: String,
    val name: String,
    /** `Bénévole`, `Capitaine`, `Coordinateur`. */
    val role: String,
    val bio: String?,
    /** "120 portes · 31 conversations", when the viewer may see it. */
    val figures: String?,
    /** "Léa a frappé 40 portes rue Bisson" (coopains, by default). */
    val activity: List<String>,
    /** "Sur le secteur Bisson – Zola": where to join them (coopains, by default). */
    val where: String? = null,
    /** `Coopains`, `Demande envoyée`, `Vous demande`, or null. */
    val link: String?,
    /** What the button does: `ask`, `accept`, or null (already linked or asked). */
    val action: String?,
    val pending: Boolean,
    val hasPhoto: Boolean,
)

data class PeopleUi(
    val me: PersonRow? = null,
    val settings: ProfileSettings? = null,
    /** Linked coopains, then asks received, then asks sent. */
    val coopains: List<PersonRow> = emptyList(),
    val team: List<PersonRow> = emptyList(),
    val waiting: Int = 0,
    val error: String? = null,
)

/**
 * The profile and coopains screens: one's own page and its settings (who sees each field), the
 * coopains and asks, the team to ask from — all written offline through the store's outbox and
 * sent at the next sync. Export and account deletion need the network: they go through
 * [FieldApp]'s server and token.
 */
class PeopleViewModel(private val app: FieldApp) {
    private val _state = MutableStateFlow(PeopleUi())
    val state: StateFlow<PeopleUi> = _state

    private fun role(r: String): String = when (r) {
        "captain" -> Msg.ROLE_CAPTAIN
        "coordinator" -> Msg.ROLE_COORDINATOR
        else -> Msg.ROLE_VOLUNTEER
    }.text(app.lang)

    private fun row(p: PersonCard): PersonRow = PersonRow(
        userId = p.userId,
        name = p.name,
        role = role(p.role),
        bio = p.bio,
        figures = p.doors?.let { d -> Msg.PERSON_FIGURES.text(app.lang, d.toInt(), (p.conversations ?: 0u).toInt()) },
        activity = p.activity,
        where = p.turfs.takeIf { it.isNotEmpty() }?.let { Msg.PERSON_ON_TURFS.text(app.lang, it.joinToString(", ")) },
        link = when (p.coopain) {
            "linked" -> Msg.COOPAIN_LINKED
            "asked_by_me" -> Msg.COOPAIN_ASKED
            "asked_by_them" -> Msg.COOPAIN_ASKS_YOU
            else -> null
        }?.text(app.lang),
        action = when (p.coopain) {
            null -> "ask"
            "asked_by_them" -> "accept"
            else -> null
        },
        pending = p.pending,
        hasPhoto = p.hasPhoto,
    )

    /** Reloads from the store (after a sync, say). */
    fun refresh(error: String? = null) {
        if (app.state.value !is AppState.Ready) {
            _state.value = PeopleUi()
            return
        }
        val s = app.store.people()
        val order = mapOf("asked_by_them" to 1, "asked_by_me" to 2)
        _state.value = PeopleUi(
            me = s.me?.let(::row),
            settings = s.settings,
            coopains = s.coopains.sortedBy { order[it.coopain] ?: 0 }.map(::row),
            team = s.team.map(::row),
            waiting = s.pending.toInt(),
            error = error,
        )
    }

    private fun refused(e: FieldException): String = when (refusalCode(e)) {
        "no_ask" -> Msg.COOPAIN_NO_ASK
        "bad_pseudonym" -> Msg.PROFILE_BAD_PSEUDONYM
        "bad_bio" -> Msg.PROFILE_BAD_BIO
        else -> Msg.PROFILE_REFUSED
    }.text(app.lang)

    private fun step(userId: String, step: CoopainStep): Boolean = try {
        app.store.coopain(userId, step)
        refresh()
        true
    } catch (e: FieldException) {
        refresh(refused(e))
        false
    }

    fun ask(userId: String) = step(userId, CoopainStep.ASK)
    fun accept(userId: String) = step(userId, CoopainStep.ACCEPT)
    /** Declines an ask, withdraws one's own, or ends the link. */
    fun end(userId: String) = step(userId, CoopainStep.END)

    /** Saves the page's settings (a blank pseudonym or text means none). */
    fun save(pseudonym: String?, bio: String?, visibility: FieldVisibility): Boolean = try {
        app.store.setProfile(ProfileSettings(pseudonym?.takeIf { it.isNotBlank() }, bio?.takeIf { it.isNotBlank() }, visibility))
        refresh()
        true
    } catch (e: FieldException) {
        refresh(refused(e))
        false
    }

    companion object {
        /** What a new page shows, and to whom (the server's default too). */
        val DEFAULT_VISIBILITY = FieldVisibility(
            Audience.CAMPAIGN, Audience.CAMPAIGN, Audience.CAMPAIGN, Audience.CAMPAIGN,
            Audience.TEAM, Audience.TEAM, Audience.COOPAINS,
        )
    }
}
