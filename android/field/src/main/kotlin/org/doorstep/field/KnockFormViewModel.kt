package org.doorstep.field

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uniffi.doorstep.FieldException
import uniffi.doorstep_core.KnockDraft
import uniffi.doorstep_core.KnockInput
import uniffi.doorstep_core.KnockView
import uniffi.doorstep_protocol.Answer
import uniffi.doorstep_protocol.AnswerValue
import uniffi.doorstep_protocol.FollowUp
import uniffi.doorstep_protocol.Outcome
import uniffi.doorstep_protocol.Position
import uniffi.doorstep_protocol.Question
import uniffi.doorstep_protocol.ResultLevel
import uniffi.doorstep_protocol.SafetyFlag
import uniffi.doorstep_protocol.Target

data class ResultChoice(val code: String, val label: String, val contact: Boolean)

data class QuestionUi(
    val question: Question,
    val text: String,
    val answer: AnswerValue?,
    /** Required, shown, unanswered, and the result is a contact: blocks the save. */
    val missing: Boolean,
)

data class KnockFormUi(
    val target: Target,
    val results: List<ResultChoice>,
    val resultCode: String? = null,
    /** Only the questions the skip logic shows for the answers so far, in the script's order. */
    val questions: List<QuestionUi> = emptyList(),
    val note: String = "",
    val safetyFlags: List<SafetyFlag> = emptyList(),
    /** The form was filled from a draft left by a killed app or an interrupted visit. */
    val restoredDraft: Boolean = false,
    /** Set when correcting an earlier knock: its id. */
    val correcting: String? = null,
    /**
     * The voter asked for a follow-up text: the number typed, and the consent words shown to them
     * (sent with the knock, word for word). Null: no follow-up.
     */
    val followUp: FollowUp? = null,
    val error: String? = null,
    val saved: KnockView? = null,
)

/**
 * The knock form, driven by the campaign's survey script. Every change is saved as a draft in the
 * store at once, so an app killed mid-knock reopens with the form as it was. Questions appear and
 * disappear with the script's skip logic (computed by the core); answers to hidden questions are
 * never sent. Submitting records the knock in one transaction and drops the draft.
 */
class KnockFormViewModel(
    private val app: FieldApp,
    private val turfId: String,
    val target: Target,
    /** The knock being corrected, if any: the form starts from its answers. */
    correcting: KnockView? = null,
    /** Whether the door lists people (voter file): door-level results only then. */
    doorHasPeople: Boolean = false,
) {
    private val store = app.store
    private val script = store.surveyScript(turfId)
    private val codes = store.resultCodes(turfId)
    private val answers = LinkedHashMap<String, AnswerValue>()
    private val _state: MutableStateFlow<KnockFormUi>
    val state: StateFlow<KnockFormUi>

    init {
        val lang = app.lang
        val fit = codes.filter {
            when (target) {
                is Target.Person -> it.level == ResultLevel.PERSON
                else -> it.level == ResultLevel.DOOR || !doorHasPeople
            }
        }
        val results = fit.map {
            ResultChoice(it.code, if (lang == Lang.FR) it.labelFr else it.labelEn, it.outcome == Outcome.CONTACTED)
        }
        val draft = store.loadDraft(target)
        var ui = KnockFormUi(target, results, correcting = correcting?.id)
        if (draft != null) {
            draft.answers.forEach { answers[it.questionId] = it.value }
            ui = ui.copy(resultCode = draft.resultCode, note = draft.note ?: "", safetyFlags = draft.safetyFlags, restoredDraft = true)
        } else if (correcting != null) {
            correcting.answers.forEach { answers[it.questionId] = it.value }
            ui = ui.copy(resultCode = correcting.resultCode, note = correcting.note ?: "")
        }
        _state = MutableStateFlow(withQuestions(ui))
        state = _state
    }

    fun chooseResult(code: String) = change { it.copy(resultCode = code) }

    /** Sets (or with null clears) the answer to a question. */
    fun answer(questionId: String, value: AnswerValue?) = change {
        if (value == null) answers.remove(questionId) else answers[questionId] = value
        it
    }

    fun setNote(text: String) = change { it.copy(note = text) }

    /**
     * The voter asks for a follow-up text at [number] after reading [consentShown] (the campaign's
     * words, or by default [Msg.FOLLOW_UP_CONSENT]): recorded with the knock, offline; the text
     * goes only once the phone has synced.
     */
    fun askFollowUp(number: String, consentShown: String = Msg.FOLLOW_UP_CONSENT.text(app.lang)) =
        change { it.copy(followUp = FollowUp(number.trim(), consentShown)) }

    fun cancelFollowUp() = change { it.copy(followUp = null) }

    fun toggleSafetyFlag(flag: SafetyFlag) = change {
        it.copy(safetyFlags = if (flag in it.safetyFlags) it.safetyFlags - flag else it.safetyFlags + flag)
    }

    /** Records the knock (or the correction). Returns it, or null with `error` set; nothing is lost. */
    fun submit(position: Position?): KnockView? {
        val ui = _state.value
        val code = ui.resultCode ?: return fail(Msg.NEED_RESULT.text(app.lang))
        ui.questions.firstOrNull { it.missing }?.let { return fail(Msg.REQUIRED.text(app.lang, it.text)) }
        val visible = ui.questions.mapNotNull { q -> q.answer?.let { Answer(q.question.id, it) } }
        val input = KnockInput(target, code, visible, ui.note.ifBlank { null }, ui.safetyFlags, position, ui.followUp)
        return try {
            val view = if (ui.correcting != null) store.correctKnock(ui.correcting, input) else store.recordKnock(input)
            store.discardDraft(target)
            _state.value = ui.copy(saved = view, error = null)
            view
        } catch (e: FieldException.InvalidInput) {
            when (refusalCode(e)) {
                "sealed" -> fail(Msg.DOOR_SEALED.text(app.lang))
                "bad_follow_up_number" -> fail(Msg.FOLLOW_UP_BAD_NUMBER.text(app.lang))
                else -> fail(Msg.NOT_SAVED.text(app.lang, e.reason))
            }
        } catch (e: FieldException.UnknownId) {
            fail(Msg.NOT_SAVED.text(app.lang, e.reason))
        }
    }

    /** The volunteer abandons the form: the draft goes. */
    fun discard() {
        store.discardDraft(target)
        answers.clear()
        _state.value = withQuestions(KnockFormUi(target, _state.value.results))
    }

    private fun fail(message: String): KnockView? {
        _state.value = _state.value.copy(error = message)
        return null
    }

    private fun change(f: (KnockFormUi) -> KnockFormUi) {
        val ui = withQuestions(f(_state.value).copy(error = null))
        _state.value = ui
        store.saveDraft(
            KnockDraft(target, ui.resultCode, answers.map { Answer(it.key, it.value) }, ui.note.ifBlank { null }, ui.safetyFlags, 0),
        )
    }

    private fun withQuestions(ui: KnockFormUi): KnockFormUi {
        val contact = ui.results.firstOrNull { it.code == ui.resultCode }?.contact == true
        if (!contact) return ui.copy(questions = emptyList())
        val shown = store.visibleQuestions(turfId, answers.map { Answer(it.key, it.value) }).toSet()
        val questions = script.questions.filter { it.id in shown }.map { q ->
            val a = answers[q.id]
            QuestionUi(q, if (app.lang == Lang.FR) q.textFr else q.textEn, a, q.required && a == null)
        }
        return ui.copy(questions = questions)
    }
}

/**
 * A paper walk sheet's QR code (or a door code typed in, with its turf) opens that door's knock
 * form: the volunteer who printed their sheet, or a captain typing it in on a phone. Null when
 * this phone does not hold the door (another turf's sheet, a code misread).
 */
fun knockFormFromSheet(app: FieldApp, scanned: String, turfId: String? = null): KnockFormViewModel? =
    try {
        val door = app.store.doorFromSheet(scanned, turfId)
        KnockFormViewModel(app, door.turfId, Target.Door(door.doorId))
    } catch (e: FieldException) {
        null
    }
