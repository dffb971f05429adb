package org.doorstep.field

// The :field view models on the JVM against the real cdylib (through the generated bindings), a
// real doorstep-server on loopback (`test-fixture`: the demo campaign on real Nantes addresses) and
// the fault-injection proxy (`doorstep-fault-proxy`). Run by tests/bindings/run-kotlin.sh, in the
// README's test command.

import java.io.BufferedReader
import java.io.File
import java.io.PrintWriter
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.BeforeClass
import org.junit.FixMethodOrder
import org.junit.Test
import org.junit.runners.MethodSorters
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.doorstep.FieldException
import uniffi.doorstep_protocol.AnswerValue
import uniffi.doorstep_protocol.DoorStatus
import uniffi.doorstep_protocol.Position
import uniffi.doorstep_protocol.Target

class MemorySecrets : SecretStore {
    val map = mutableMapOf<String, String>()
    override fun get(name: String) = map[name]
    override fun put(name: String, value: String) { map[name] = value }
    override fun remove(name: String) { map.remove(name) }
}

/** Records what the view models ask of the platform; the test plays WorkManager. */
class RecordingScheduler : SyncScheduler {
    val requests = mutableListOf<Pair<Long, Boolean>>()
    var cancelled = 0
    override fun schedule(delayMs: Long, requireBatteryNotLow: Boolean) { requests += delayMs to requireBatteryNotLow }
    override fun cancel() { cancelled++ }
}

data class Invite(val volunteer: String, val code: String, val turf: String)

/** `doorstep-fault-proxy` as a child process, driven line by line. */
class Proxy(upstream: String) : AutoCloseable {
    private val process = ProcessBuilder(System.getenv("DOORSTEP_FAULT_PROXY"), upstream)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start()
    private val out: BufferedReader = process.inputStream.bufferedReader()
    private val input = PrintWriter(process.outputStream, true)
    val url: String = Regex("\"url\":\"([^\"]+)\"").find(out.readLine())!!.groupValues[1]

    fun command(line: String): String {
        input.println(line)
        return out.readLine()
    }

    fun stat(name: String): Int = Regex("\"$name\":(\\d+)").find(command("stats"))!!.groupValues[1].toInt()

    override fun close() {
        input.close()
        process.waitFor()
    }
}

@FixMethodOrder(MethodSorters.NAME_ASCENDING)
class FieldViewModelsTest {
    companion object {
        private val root: File = Files.createTempDirectory("doorstep-field-").toFile()
        private lateinit var server: Process
        lateinit var url: String
        lateinit var coordinatorToken: String
        lateinit var invites: List<Invite>
        private val http: HttpClient = HttpClient.newHttpClient()

        @BeforeClass @JvmStatic
        fun startServer() {
            server = ProcessBuilder(System.getenv("DOORSTEP_SERVER"), "test-fixture", "--database", File(root, "server.db").path)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start()
            val line = server.inputStream.bufferedReader().readLine()
            fun field(json: String, key: String) = Regex("\"$key\":\"([^\"]+)\"").find(json)!!.groupValues[1]
            url = field(line, "url")
            coordinatorToken = field(line, "coordinator_token")
            val first = Invite(field(line, "volunteer"), field(line, "code"), field(line, "turf"))
            val team = Regex("\\{[^{}]*\"volunteer_id\"[^{}]*\\}").findAll(line.substringAfter("\"team\"")).map {
                Invite(field(it.value, "volunteer_id"), field(it.value, "join_code"), field(it.value, "turf_id"))
            }.toList()
            invites = listOf(first) + team
            assertEquals(5, invites.size)
        }

        @AfterClass @JvmStatic
        fun stopServer() {
            server.destroy()
            server.waitFor()
        }

        fun staff(method: String, path: String, body: String? = null): Pair<Int, String> {
            val b = HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer $coordinatorToken")
            val req = if (body == null) b.method(method, HttpRequest.BodyPublishers.noBody())
            else b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body))
            val r = http.send(req.build(), HttpResponse.BodyHandlers.ofString())
            return r.statusCode() to r.body()
        }

        /** How many times each report id is on the server. */
        fun onServer(ids: List<String>): List<Int> {
            val (status, body) = staff("GET", "/api/v1/export/reports.json")
            assertEquals(200, status, body)
            return ids.map { id -> Regex("\"id\":\"$id\"").findAll(body).count() }
        }

        /** Reports of revoked devices the server holds for a captain's review. */
        fun heldOnServer(ids: List<String>): List<Int> {
            val (status, body) = staff("GET", "/api/v1/held")
            assertEquals(200, status, body)
            return ids.map { id -> Regex("\"id\":\"$id\"").findAll(body).count() }
        }
    }

    private val here = Position(47.2135, -1.5590, 5.0)

    private fun newApp(name: String, secrets: SecretStore = MemorySecrets(), scheduler: SyncScheduler = RecordingScheduler()) =
        FieldApp(File(root, name), secrets, scheduler)

    private fun joined(name: String, invite: Invite, scheduler: RecordingScheduler = RecordingScheduler(), server: String = url): FieldApp {
        val app = newApp(name, scheduler = scheduler)
        assertNull(runBlocking { app.join("doorstep://join?server=${java.net.URLEncoder.encode(server, "UTF-8")}&code=${invite.code}") })
        return app
    }

    /** A door's code on the paper sheet, computed here independently of the core (SHA-256 of a
     *  tag, the door id and a 0 salt; 30 bits in Crockford's base 32). */
    private fun sheetCode(door: String): String {
        val digest = java.security.MessageDigest.getInstance("SHA-256")
            .digest("doorstep-door-code-v1\u0000".toByteArray() + door.toByteArray() + byteArrayOf(0, 0, 0, 0))
        val bits = (0 until 5).fold(0L) { acc, i -> (acc shl 8) or (digest[i].toLong() and 0xff) } shr 10
        return (0 until 6).map { "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[((bits shr (25 - 5 * it)) and 31).toInt()] }.joinToString("")
    }

    /** Knocks `n` doors of the route as "not home". */
    private fun knockSome(app: FieldApp, turf: String, n: Int): List<String> {
        val route = RouteViewModel(app, turf).apply { start(here) }
        return (0 until n).map {
            val door = route.state.value.next!!.doors.first { d -> d.status == DoorStatus.UNTOUCHED }.id
            // Every other door is opened as from its paper sheet's QR code.
            val form = if (it % 2 == 1) {
                assertNotNull(knockFormFromSheet(app, "doorstep://porte/$turf/${sheetCode(door)}"), "door $door from its sheet")
            } else {
                KnockFormViewModel(app, turf, Target.Door(door))
            }
            assertEquals(Target.Door(door), form.target)
            assertNull(knockFormFromSheet(app, "doorstep://porte/$turf/000000"), "a code of no door this phone holds")
            form.chooseResult("not_home")
            val k = assertNotNull(form.submit(here), form.state.value.error)
            route.refresh()
            k.id
        }
    }

    @Test
    fun a_joinRouteKnockWithABranchingScriptAndCorrect() {
        val bad = newApp("bad")
        assertEquals(Msg.BAD_JOIN_LINK.fr, runBlocking { bad.join("pas un lien") })
        assertEquals(Msg.JOIN_REFUSED.fr, runBlocking { bad.join("doorstep://join?server=$url&code=ZZZZ-ZZZZ") })
        assertIs<AppState.NeedsJoin>(bad.state.value)

        val invite = invites[0]
        val scheduler = RecordingScheduler()
        val app = joined("a", invite, scheduler)
        assertEquals(AppState.Ready(invite.volunteer, "demo-nantes"), app.state.value)
        val sync = SyncController(app)
        assertEquals("0 en attente, jamais synchronisé", sync.state.value.summary)
        assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
        val turfs = TurfListViewModel(app).apply { refresh() }.rows.value
        assertEquals(listOf(invite.turf), turfs.map { it.id })
        assertTrue(turfs[0].doors > 40, "${turfs[0]}")
        assertTrue(turfs[0].lease!!.startsWith("jusqu'au "), turfs[0].lease)

        val route = RouteViewModel(app, invite.turf).apply { start(here) }
        val stop = route.state.value.next!!
        assertTrue(route.state.value.walkMetres > 0)
        assertEquals(route.state.value.doorsTotal, turfs[0].doors)
        val door = stop.doors[0].id
        val form = KnockFormViewModel(app, invite.turf, Target.Door(door))
        assertEquals("Absent", form.state.value.results.first { it.code == "not_home" }.label)
        assertNull(form.submit(here))
        assertEquals(Msg.NEED_RESULT.fr, form.state.value.error)
        form.chooseResult("contact_made")
        assertEquals(listOf("consent"), form.state.value.questions.map { it.question.id })
        form.answer("consent", AnswerValue.YesNo(true))
        val afterConsent = form.state.value.questions.map { it.question.id }
        assertTrue(afterConsent.size > 1 && afterConsent[0] == "consent", "$afterConsent")
        // Required questions left: refused with the question's text, nothing recorded.
        assertNull(form.submit(here))
        assertTrue(form.state.value.error!!.startsWith("Réponse obligatoire : "), form.state.value.error)
        assertEquals(0u, app.store.pendingCount())
        // Skip logic: consent withdrawn hides the personal questions, and their answers are not sent.
        val script = app.store.surveyScript(invite.turf)
        for (q in script.questions.drop(1)) fillIn(form, q)
        form.answer("consent", AnswerValue.YesNo(false))
        assertEquals(listOf("consent"), form.state.value.questions.map { it.question.id })
        form.answer("consent", AnswerValue.YesNo(true))
        // The voter asks for a follow-up text (issue 19): a number no text reaches is refused on
        // the phone, in the volunteer's words; the right one goes with the knock, offline.
        form.askFollowUp("12 34")
        assertNull(form.submit(here))
        assertEquals(Msg.FOLLOW_UP_BAD_NUMBER.fr, form.state.value.error)
        assertEquals(0u, app.store.pendingCount())
        form.askFollowUp(" 06 98 76 54 32 ")
        assertEquals(Msg.FOLLOW_UP_CONSENT.fr, form.state.value.followUp!!.consentText)
        val k = assertNotNull(form.submit(here), form.state.value.error)
        assertEquals(k.answers.map { it.questionId }, form.state.value.questions.filter { it.answer != null }.map { it.question.id })
        assertNull(app.store.loadDraft(Target.Door(door)), "the draft goes with the knock")
        sync.knockRecorded()
        assertEquals(0L to false, scheduler.requests.last(), "a knock asks for a sync at once")
        assertEquals(1, sync.state.value.pending)
        route.refresh()
        assertEquals(1, route.state.value.doorsKnocked)

        // Correction: starts from the original's answers; the new knock supersedes it.
        val fix = KnockFormViewModel(app, invite.turf, Target.Door(door), correcting = k)
        assertEquals("contact_made", fix.state.value.resultCode)
        fix.chooseResult("refused")
        assertEquals(emptyList(), fix.state.value.questions, "no questions without a contact")
        val k2 = assertNotNull(fix.submit(here), fix.state.value.error)
        assertEquals(k.id, k2.supersedes)
        assertEquals(emptyList(), k2.answers)
        assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
        assertEquals(0, sync.state.value.pending)
        assertTrue(sync.state.value.summary.startsWith("0 en attente, dernière synchro "), sync.state.value.summary)
        assertEquals(listOf(1, 1), onServer(listOf(k.id, k2.id)))
        app.close()
    }

    private fun fillIn(form: KnockFormViewModel, q: uniffi.doorstep_protocol.Question) {
        val v = when (val kind = q.kind) {
            is uniffi.doorstep_protocol.QuestionKind.YesNo -> AnswerValue.YesNo(true)
            is uniffi.doorstep_protocol.QuestionKind.SingleChoice -> AnswerValue.Choice(kind.choices.first())
            is uniffi.doorstep_protocol.QuestionKind.MultipleChoice -> AnswerValue.Choices(kind.choices.take(2))
            is uniffi.doorstep_protocol.QuestionKind.Scale -> AnswerValue.Scale(4u)
            is uniffi.doorstep_protocol.QuestionKind.FreeText -> AnswerValue.Text("Parle du tram")
        }
        form.answer(q.id, v)
    }

    @Test
    fun b_appKilledMidKnockReopensWithTheDraft() {
        val secrets = MemorySecrets()
        val fixture = File(System.getenv("DOORSTEP_FIXTURE")).readBytes()
        var app = newApp("b", secrets)
        app.store.applyTurfPackage(fixture)
        val door = RouteViewModel(app, "kt").apply { start(here) }.state.value.next!!.doors[0].id
        val form = KnockFormViewModel(app, "kt", Target.Door(door))
        form.chooseResult("contact_made")
        form.answer("consent", AnswerValue.YesNo(true))
        form.answer("intent", AnswerValue.Choice("non"))
        assertEquals(listOf("consent", "intent", "why_not", "topics", "support"), form.state.value.questions.map { it.question.id })
        form.answer("why_not", AnswerValue.Text("Travaille ce dimanche"))
        form.setNote("Revenir après 18 h")
        // Killed: nothing closed properly; a new process opens the same files with the same keystore.
        app = newApp("b", secrets)
        val reopened = KnockFormViewModel(app, "kt", Target.Door(door))
        val ui = reopened.state.value
        assertTrue(ui.restoredDraft)
        assertEquals("contact_made", ui.resultCode)
        assertEquals("Revenir après 18 h", ui.note)
        assertEquals(AnswerValue.Text("Travaille ce dimanche"), ui.questions.first { it.question.id == "why_not" }.answer)
        assertNotNull(reopened.submit(here), reopened.state.value.error)
        assertEquals(1u, app.store.pendingCount())
        assertEquals(0, app.store.listDrafts().size)
        // The file is encrypted with the keystore's key: without it, it does not open.
        val key = secrets.map.getValue(FieldApp.KEY)
        assertEquals(64, key.length)
        app.close()
        val thief = MemorySecrets().apply { put(FieldApp.KEY, "0".repeat(64)) }
        try {
            newApp("b", thief)
            throw AssertionError("opened without its key")
        } catch (e: FieldException.Encryption) {
        }
        assertFalse(File(root, "b/${FieldApp.DB_NAME}").readBytes().copyOf(16).decodeToString().startsWith("SQLite format 3"))
    }

    @Test
    fun c_aSyncCutHalfWayKeepsThePendingCountAndRetriesByItself() {
        val invite = invites[1]
        val scheduler = RecordingScheduler()
        Proxy(url.removePrefix("http://")).use { proxy ->
            val app = joined("c", invite, scheduler, proxy.url)
            val sync = SyncController(app)
            assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
            val ids = knockSome(app, invite.turf, 3)
            sync.refresh()
            assertEquals(3, sync.state.value.pending)
            // The server commits the push; its answer is cut after 20 bytes.
            assertEquals("ok", proxy.command("cut 20"))
            val failed = assertIs<SyncOutcome.Failed>(runBlocking { sync.syncNow() })
            assertEquals(1, proxy.stat("cut"))
            assertEquals(listOf(1, 1, 1), onServer(ids), "the server committed before the cut")
            assertEquals(3, sync.state.value.pending, "unacknowledged: still pending on the phone")
            assertEquals(SyncController.BASE_MS, failed.retryInMs)
            assertEquals(SyncController.BASE_MS to false, scheduler.requests.last())
            assertEquals(Msg.SYNC_INTERRUPTED.text(Lang.FR, 3), sync.state.value.banner)
            // A second failure backs off further.
            assertIs<SyncOutcome.Failed>(runBlocking { sync.syncNow() })
            assertEquals(2 * SyncController.BASE_MS, scheduler.requests.last().first)
            // The network heals; the platform runs the scheduled sync: acknowledged as duplicates.
            assertEquals("ok", proxy.command("pass"))
            val done = assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
            assertEquals(3u, done.report.duplicate + done.report.accepted)
            assertTrue(done.report.duplicate >= 3u, "the server had them: ${done.report}")
            assertEquals(0, sync.state.value.pending)
            assertNull(sync.state.value.banner)
            assertEquals(listOf(1, 1, 1), onServer(ids), "never counted twice")
            assertTrue(scheduler.cancelled > 0, "the pending retry is cancelled once synced")
            app.close()
        }
    }

    @Test
    fun d_offlineBannerAndLowBatteryNeverBusyLoop() {
        val invite = invites[2]
        val scheduler = RecordingScheduler()
        Proxy(url.removePrefix("http://")).use { proxy ->
            val app = joined("d", invite, scheduler, proxy.url)
            val sync = SyncController(app)
            assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
            val before = proxy.stat("connections")
            sync.setOnline(false)
            assertEquals(Msg.OFFLINE.fr, sync.state.value.banner)
            knockSome(app, invite.turf, 2)
            sync.knockRecorded()
            assertEquals("Skipped(why=offline)", runBlocking { sync.syncNow() }.toString())
            assertEquals(before, proxy.stat("connections"), "no attempt while offline")
            // The phone thinks it is online, the network is not: each call makes one attempt, no more.
            assertEquals("ok", proxy.command("down"))
            sync.setOnline(true)
            sync.setBatteryLow(true)
            val delays = (1..4).map { assertIs<SyncOutcome.Failed>(runBlocking { sync.syncNow() }).retryInMs }
            assertEquals(List(4) { SyncController.LOW_BATTERY_MS }, delays, "low battery: 15 min at least")
            assertTrue(scheduler.requests.takeLast(4).all { it.second }, "low battery: run only once charged")
            val attempts = proxy.stat("dropped")
            assertTrue(attempts in 4..8, "one attempt per call (a connection retry at most), got $attempts")
            sync.setBatteryLow(false)
            assertEquals(SyncController.MAX_MS, sync.backoffMs(20))
            assertEquals("ok", proxy.command("pass"))
            assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
            assertEquals(0, sync.state.value.pending)
            app.close()
        }
    }

    @Test
    fun e_aStreetMovedWhileTheVolunteerIsOnIt() {
        val invite = invites[3]
        val app = joined("e", invite)
        val sync = SyncController(app)
        assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
        val route = RouteViewModel(app, invite.turf).apply { start(here) }
        // The route screen refreshes itself on every sync while it is shown.
        val heard = mutableListOf<SyncOutcome>()
        val stopListening = sync.onSynced { heard += it; route.refresh() }
        val stop = route.state.value.next!!
        // Knocked on the street, not yet synced, when the captain moves the street away.
        val form = KnockFormViewModel(app, invite.turf, Target.Door(stop.doors[0].id))
        form.chooseResult("not_home")
        val k = assertNotNull(form.submit(here))
        val other = invites[4].volunteer
        val (status, body) = staff("POST", "/api/v1/reassign", """{"turf_id":"${invite.turf}","street":"${stop.street}","to_volunteer":"$other"}""")
        assertEquals(200, status, body)
        val done = assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
        assertEquals(1u, done.report.accepted)
        assertEquals(listOf<SyncOutcome>(done), heard)
        stopListening()
        assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
        assertEquals(1, heard.size, "a screen gone hears nothing more")
        assertEquals(Msg.STOP_MOVED.text(Lang.FR, stop.address), route.state.value.message)
        assertFalse(route.state.value.gone)
        val remaining = app.store.routeProgress(invite.turf).remaining
        assertTrue(remaining.none { it.street == stop.street }, "the street left this phone")
        assertEquals(listOf(1), onServer(listOf(k.id)), "the knock there is kept, once")
        assertEquals(0, sync.state.value.pending)
        app.close()
    }

    @Test
    fun f_revocationPushesThenWipesTheStoreAndItsFiles() {
        val invite = invites[4]
        val secrets = MemorySecrets()
        val scheduler = RecordingScheduler()
        val app = FieldApp(File(root, "f"), secrets, scheduler)
        assertNull(runBlocking { app.join("doorstep://join?server=$url&code=${invite.code}") })
        val sync = SyncController(app)
        assertIs<SyncOutcome.Done>(runBlocking { sync.syncNow() })
        val ids = knockSome(app, invite.turf, 2)
        assertTrue(app.storeFiles().isNotEmpty())
        val (status, body) = staff("POST", "/api/v1/devices/${app.deviceId}/revoke")
        assertEquals(200, status, body)
        assertEquals(SyncOutcome.Wiped, runBlocking { sync.syncNow() })
        // Pushed before the wipe: held for a captain's review (a revoked phone's reports are not
        // counted until accepted), never lost.
        assertEquals(listOf(1, 1), heldOnServer(ids), "pushed before the wipe, held for review")
        assertEquals(listOf(0, 0), onServer(ids), "not counted until a captain accepts them")
        assertEquals(AppState.Wiped(Msg.REVOKED.fr), app.state.value)
        assertEquals(emptyList(), app.storeFiles(), "the store's files are deleted")
        assertEquals(setOf(FieldApp.WIPED), secrets.map.keys, "key and token gone")
        assertEquals(Msg.REVOKED.fr, sync.state.value.banner)
        // Restarted, the app still says why, and holds nothing.
        val restarted = FieldApp(File(root, "f"), secrets, scheduler)
        assertEquals(AppState.Wiped(Msg.REVOKED.fr), restarted.state.value)
        assertEquals("Skipped(why=not joined)", runBlocking { SyncController(restarted).syncNow() }.toString())
        TurfListViewModel(restarted).apply { refresh() }.also { assertEquals(emptyList(), it.rows.value) }
    }

    @Test
    fun g_householdMembersAndPersonResults() {
        val app = newApp("g")
        app.store.applyTurfPackage(File(System.getenv("DOORSTEP_VOTERS_FIXTURE")).readBytes())
        val route = RouteViewModel(app, "kv").apply { start(here) }
        val door = route.state.value.next!!.doors[0]
        val people = route.household(door.id)
        assertTrue(people.isNotEmpty() && people.all { it.displayName.endsWith("(fictif)") }, "$people")
        val doorForm = KnockFormViewModel(app, "kv", Target.Door(door.id), doorHasPeople = true)
        assertTrue("contact_made" !in doorForm.state.value.results.map { it.code }, "person results are for people")
        assertTrue("not_home" in doorForm.state.value.results.map { it.code })
        val personForm = KnockFormViewModel(app, "kv", Target.Person(people[0].id), doorHasPeople = true)
        assertTrue("not_home" !in personForm.state.value.results.map { it.code })
        personForm.chooseResult("contact_made")
        personForm.answer("consent", AnswerValue.YesNo(true))
        personForm.answer("intent", AnswerValue.Choice("oui"))
        val k = assertNotNull(personForm.submit(here), personForm.state.value.error)
        assertEquals(door.id, k.doorId)
        assertEquals(DoorStatus.CONTACTED, app.store.doorStatus(door.id))
        // In English on demand.
        app.lang = Lang.EN
        assertEquals("Not home", KnockFormViewModel(app, "kv", Target.Door(door.id), doorHasPeople = true).state.value.results.first { it.code == "not_home" }.label)
        app.close()
    }

    private fun jsonField(json: String, key: String): String =
        assertNotNull(Regex("\"$key\":\"([^\"]+)\"").find(json), "$key in $json").groupValues[1]

    /**
     * Issue 17 on the JVM: a volunteer signs up for a session with no network (the view model
     * shows it pending, then sent); the session's turf arrives sealed; the captain's own phone gets
     * its grant, then hands a street by QR code with no network; the volunteer's phone opens that
     * street only, knocks, and the knock reaches the server once.
     */
    @Test
    fun h_teamMessagesWrittenOfflineThenSentAndRead() {
        // A team of two volunteers and its captain, made by the coordinator.
        val (s1, c) = staff("POST", "/api/v1/invitations", """{"name":"Capitaine M","user_id":"cap-m","role":"captain"}""")
        assertTrue(s1 in 200..201, c)
        val (s2, t) = staff("POST", "/api/v1/teams", """{"id":"m","name":"Équipe M","captains":["cap-m"]}""")
        assertTrue(s2 in 200..201, t)
        val apps = listOf("vol-m1" to "Maëlle", "vol-m2" to "Malik").map { (id, name) ->
            val (st, inv) = staff("POST", "/api/v1/invitations", """{"name":"$name","user_id":"$id","team_id":"m"}""")
            assertTrue(st in 200..201, inv)
            val app = newApp(id)
            assertNull(runBlocking { app.join(jsonField(inv, "join_code"), url) })
            assertIs<SyncOutcome.Done>(runBlocking { SyncController(app).syncNow() })
            app
        }
        val (one, two) = apps
        val m1 = MessagesViewModel(one).apply { refresh() }
        assertEquals(
            listOf(Pair("Équipe", "Équipe M"), Pair("Annonces", "Annonces"), Pair("Message direct", "Capitaine M")),
            m1.channels.value.map { it.kind to it.title },
        )
        // No network: written, shown at once as waiting; what the rule book refuses is said.
        m1.open("team:m")
        assertFalse(m1.send("   "))
        assertEquals(Msg.MESSAGE_EMPTY.fr, m1.thread.value.error)
        assertTrue(m1.send("On se retrouve où ?"))
        assertEquals(listOf("vous" to "en attente"), m1.thread.value.messages.map { it.author to it.status })
        m1.pin(m1.thread.value.messages[0].id)
        assertEquals(Msg.MESSAGE_NOT_ALLOWED.fr, m1.thread.value.error)
        m1.open("announce")
        assertFalse(m1.thread.value.canPost)
        assertFalse(m1.send("Salut tout le monde"))
        assertEquals(Msg.MESSAGE_NOT_ALLOWED.fr, m1.thread.value.error)
        m1.open("team:nowhere")
        assertEquals(Msg.MESSAGE_NO_CHANNEL.fr, m1.thread.value.error)
        // Back online: sent; the other phone gets it, unread until opened.
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(one).syncNow() })
        m1.open("team:m")
        assertEquals(listOf("envoyé"), m1.thread.value.messages.map { it.status })
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(two).syncNow() })
        val m2 = MessagesViewModel(two).apply { refresh() }
        assertEquals(1, m2.channels.value.single { it.id == "team:m" }.unread)
        assertEquals("On se retrouve où ?", m2.channels.value.single { it.id == "team:m" }.last)
        m2.open("team:m")
        assertEquals(listOf(Triple("Maëlle", "On se retrouve où ?", null as String?)), m2.thread.value.messages.map { Triple(it.author, it.body, it.status) })
        assertEquals(0, m2.channels.value.single { it.id == "team:m" }.unread)
        // Malik's phone says it read; once both have synced, Maëlle's message says so.
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(two).syncNow() })
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(one).syncNow() })
        m1.refresh()
        assertEquals(listOf("lu par 1"), m1.thread.value.messages.map { it.status })
        // Live while the screen is open: Malik's phone waits; Maëlle's answer lands in it.
        val live = runBlocking {
            val waiting = async(Dispatchers.IO) { m2.listen(20_000) }
            delay(300)
            m1.open("team:m")
            assertTrue(m1.send("Je vous rejoins rue Bisson"))
            assertIs<SyncOutcome.Done>(SyncController(one).syncNow())
            waiting.await()
        }
        assertEquals(1, live)
        assertEquals("Je vous rejoins rue Bisson", m2.thread.value.messages.last().body)
        // A message pointing at a street opens it on the map: its buildings, marked.
        val (st, inv) = staff("POST", "/api/v1/invitations", """{"name":"Mona","user_id":"vol-m3","team_id":"m"}""")
        assertTrue(st in 200..201, inv)
        val three = newApp("vol-m3")
        assertNull(runBlocking { three.join(jsonField(inv, "join_code"), url) })
        val turf = invites[3].turf
        val (sa, assigned) = staff("POST", "/api/v1/turfs/$turf/assign", """{"volunteer_id":"vol-m3","lease_days":7}""")
        assertTrue(sa in 200..201, assigned)
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(three).syncNow() })
        val route = RouteViewModel(three, turf).apply { start(here) }
        val street = route.state.value.next!!.street
        three.store.postMessage("team:m", "Attention au chien", null, street, turf)
        val m3 = MessagesViewModel(three).apply { refresh(); open("team:m") }
        val target = assertNotNull(m3.target(m3.thread.value.messages.last().id))
        assertEquals(MapTarget(turf, null, street), target)
        assertTrue(route.focus(target))
        assertTrue(route.state.value.focus.isNotEmpty())
        assertTrue(route.state.value.focus.contains(route.state.value.next!!.buildingId))
        assertNull(m3.target(m3.thread.value.messages.first().id), "a message pointing nowhere opens nothing")
    }

    /**
     * Issue 18 on the JVM: two volunteers of a team become coopains with no network (one asks, the
     * other accepts, each shown at once as waiting), their page settings are saved offline, and
     * what the rule book refuses is said in French.
     */
    @Test
    fun i_coopainsAskedAndAcceptedOffline() {
        val (s1, c) = staff("POST", "/api/v1/invitations", """{"name":"Capitaine P","user_id":"cap-p","role":"captain"}""")
        assertTrue(s1 in 200..201, c)
        val (s2, t) = staff("POST", "/api/v1/teams", """{"id":"p","name":"Équipe P","captains":["cap-p"]}""")
        assertTrue(s2 in 200..201, t)
        val apps = listOf("vol-p1" to "Paula", "vol-p2" to "Pierre").map { (id, name) ->
            val (st, inv) = staff("POST", "/api/v1/invitations", """{"name":"$name","user_id":"$id","team_id":"p"}""")
            assertTrue(st in 200..201, inv)
            val app = newApp(id)
            assertNull(runBlocking { app.join(jsonField(inv, "join_code"), url) })
            assertIs<SyncOutcome.Done>(runBlocking { SyncController(app).syncNow() })
            app
        }
        val (paula, pierre) = apps
        // Paula synced before Pierre joined: once more, and her team lists him.
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(paula).syncNow() })
        val p1 = PeopleViewModel(paula).apply { refresh() }
        assertEquals("Paula", p1.state.value.me?.name)
        assertEquals(
            listOf(Triple("Capitaine P", "Capitaine", "ask"), Triple("Pierre", "Bénévole", "ask")),
            p1.state.value.team.map { Triple(it.name, it.role, it.action) },
        )
        // No network: accepting what nobody asked is refused; the ask shows at once, waiting.
        assertFalse(p1.accept("vol-p2"))
        assertEquals(Msg.COOPAIN_NO_ASK.fr, p1.state.value.error)
        assertTrue(p1.ask("vol-p2"))
        assertEquals(listOf(Triple("Pierre", "Demande envoyée", true)), p1.state.value.coopains.map { Triple(it.name, it.link, it.pending) })
        assertFalse(p1.save("x".repeat(41), null, PeopleViewModel.DEFAULT_VISIBILITY))
        assertEquals(Msg.PROFILE_BAD_PSEUDONYM.fr, p1.state.value.error)
        assertTrue(p1.save("Paula L.", "Le samedi matin", PeopleViewModel.DEFAULT_VISIBILITY))
        assertEquals(Pair("Paula L.", 2), Pair(p1.state.value.settings?.pseudonym, p1.state.value.waiting))
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(paula).syncNow() })
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(pierre).syncNow() })
        val p2 = PeopleViewModel(pierre).apply { refresh() }
        val ask = p2.state.value.coopains.single()
        assertEquals(Triple("Paula", "Vous propose d'être coopains", "accept"), Triple(ask.name, ask.link, ask.action))
        assertEquals("Le samedi matin", ask.bio)
        assertTrue(p2.accept("vol-p1"))
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(pierre).syncNow() })
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(paula).syncNow() })
        p1.refresh()
        assertEquals(listOf(Pair("Coopains", false)), p1.state.value.coopains.map { it.link to it.pending })
        assertEquals("0 portes · 0 conversations", p1.state.value.coopains[0].figures)
        // Coopains share a direct channel.
        val m = MessagesViewModel(paula).apply { refresh() }
        assertTrue(m.channels.value.any { it.kind == "Message direct" && it.title == "Pierre" }, "${m.channels.value}")
        // …and see each other on a session's sign-ups: Pierre signs up, Paula reads "Avec Pierre".
        val now = System.currentTimeMillis()
        val (st, session) = staff(
            "POST", "/api/v1/sessions",
            """{"id":"s-p","campaign_id":"x","title":"Dimanche, marché","start_ms":${now + 86_400_000},
               "end_ms":${now + 90_000_000},"meeting_lat":47.2184,"meeting_lon":-1.5536,"meeting_text":"Place du marché",
               "capacity":10,"captains":["cap-p"],"turfs":[],"team_id":"p","visibility":"team"}""",
        )
        assertEquals(201, st, session)
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(pierre).syncNow() })
        SessionsViewModel(pierre).apply { refresh(); signUp("s-p") }
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(pierre).syncNow() })
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(paula).syncNow() })
        val seen = SessionsViewModel(paula).apply { refresh() }.rows.value.single { it.id == "s-p" }
        assertEquals("Avec Pierre", seen.withCoopains)
    }

    @Test
    fun z_sessionsSignUpOfflineAndACaptainsHandOutWithNoNetwork() {
        val (st1, cap) = staff("POST", "/api/v1/invitations", """{"name":"Capitaine K","user_id":"cap-k","role":"captain"}""")
        assertTrue(st1 in 200..201, cap)
        val capToken = jsonField(cap, "token")
        val phoneReq = HttpRequest.newBuilder(URI.create("$url/api/v1/me/phone")).header("Authorization", "Bearer $capToken")
            .POST(HttpRequest.BodyPublishers.noBody()).build()
        val phone = http.send(phoneReq, HttpResponse.BodyHandlers.ofString())
        assertEquals(201, phone.statusCode(), phone.body())
        val turf = invites[4].turf
        val now = System.currentTimeMillis()
        val (st2, session) = staff(
            "POST", "/api/v1/sessions",
            """{"id":"s-jvm","campaign_id":"x","title":"Samedi matin, quartier nord","start_ms":${now - 600_000},
               "end_ms":${now + 3 * 3_600_000},"meeting_lat":47.2184,"meeting_lon":-1.5536,"meeting_text":"Devant le marché",
               "capacity":10,"captains":["cap-k"],"turfs":["$turf"],"team_id":null,"visibility":"campaign"}""",
        )
        assertEquals(201, st2, session)
        val (st3, vol) = staff("POST", "/api/v1/invitations", """{"name":"Karim","user_id":"vol-k"}""")
        assertTrue(st3 in 200..201, vol)

        val volunteer = newApp("vol-k")
        assertNull(runBlocking { volunteer.join(jsonField(vol, "join_code"), url) })
        val volSync = SyncController(volunteer)
        assertIs<SyncOutcome.Done>(runBlocking { volSync.syncNow() })
        val sessions = SessionsViewModel(volunteer).apply { refresh() }
        val row = sessions.rows.value.single { it.id == "s-jvm" }
        assertEquals("10 place(s) restante(s)", row.places)
        assertTrue(row.canSignUp && !row.canCancel && row.standing == null, "$row")
        // No network: the sign-up is decided and kept on the phone.
        sessions.signUp("s-jvm")
        val signed = sessions.rows.value.single { it.id == "s-jvm" }
        assertEquals(Triple("inscrit", true, "9 place(s) restante(s)"), Triple(signed.standing, signed.pending, signed.places))
        assertTrue(signed.canConfirm && signed.canCancel && !signed.canSignUp, "$signed")
        assertIs<SyncOutcome.Done>(runBlocking { volSync.syncNow() })
        assertFalse(sessions.apply { refresh() }.rows.value.single { it.id == "s-jvm" }.pending)
        // A session in an hour, signed up for late: its reminder shows after the next sync, once.
        val (st4, soon) = staff(
            "POST", "/api/v1/sessions",
            """{"id":"s-jvm-bientot","campaign_id":"x","title":"Tout à l'heure","start_ms":${now + 3_600_000},
               "end_ms":${now + 7_200_000},"meeting_lat":47.2184,"meeting_lon":-1.5536,"meeting_text":"Place Royale",
               "capacity":10,"captains":["cap-k"],"turfs":[],"team_id":null,"visibility":"campaign"}""",
        )
        assertEquals(201, st4, soon)
        assertIs<SyncOutcome.Done>(runBlocking { volSync.syncNow() })
        sessions.signUp("s-jvm-bientot")
        assertEquals(emptyList(), sessions.reminders.value)
        assertIs<SyncOutcome.Done>(runBlocking { volSync.syncNow() })
        val reminder = sessions.apply { refresh() }.reminders.value.single()
        assertEquals("s-jvm-bientot", reminder.sessionId)
        assertTrue(reminder.text.startsWith("Rappel : ") && reminder.text.endsWith("« Tout à l'heure », Place Royale"), reminder.text)
        sessions.dismissReminder(reminder.id)
        assertIs<SyncOutcome.Done>(runBlocking { volSync.syncNow() })
        assertEquals(emptyList(), sessions.apply { refresh() }.reminders.value)
        val sealed = TurfListViewModel(volunteer).apply { refresh() }.rows.value.single { it.id == turf }
        assertTrue(sealed.sealed, "$sealed")
        assertEquals("à recevoir du capitaine", sealed.lease)

        // The captain's own phone: joined with the code it asked for, synced, granted.
        val captain = newApp("cap-k")
        assertNull(runBlocking { captain.join(jsonField(phone.body(), "join_code"), url) })
        assertIs<SyncOutcome.Done>(runBlocking { SyncController(captain).syncNow() })
        val handOut = HandOutViewModel(captain, "s-jvm")
        assertTrue(runBlocking { handOut.prepare() }, handOut.state.value.message)
        assertTrue(handOut.state.value.turfs.any { it.id == turf && it.sealed })
        handOut.chooseTurf(turf)
        val street = handOut.state.value.streets.first()
        // From here on, neither phone has a network. The volunteer scans the check-in code.
        handOut.showCheckinCode(60)
        val checkin = assertNotNull(handOut.state.value.qrText, handOut.state.value.message)
        sessions.checkIn("pas un code")
        assertEquals(Msg.CHECKIN_UNREADABLE.fr, sessions.message.value)
        sessions.checkIn(checkin)
        assertNull(sessions.message.value, sessions.message.value)
        assertEquals("accueilli", sessions.rows.value.single { it.id == "s-jvm" }.standing)
        handOut.give("vol-k", turf, street.street)
        val qr = assertNotNull(handOut.state.value.qrText, handOut.state.value.message)
        assertTrue(handOut.state.value.given!!.startsWith("${street.street} (${street.doors} portes) confiée à vol-k jusqu'au "), handOut.state.value.given)

        val receive = LeaseReceiveViewModel(volunteer)
        receive.scan("https://example.org")
        assertEquals(Msg.LEASE_UNREADABLE.fr, receive.state.value.error)
        receive.scan(qr)
        assertNull(receive.state.value.error, receive.state.value.error)
        assertTrue(receive.state.value.opened!!.startsWith("${street.street} ouverte : ${street.doors} portes jusqu'au "), receive.state.value.opened)

        // The volunteer knocks a door of that street; a door of another street stays sealed.
        val route = RouteViewModel(volunteer, turf).apply { start(here) }
        val stops = route.state.value.stops
        val mine = stops.first { it.street == street.street }.doors.first().id
        val other = stops.firstOrNull { it.street != street.street }?.doors?.first()?.id
        val form = KnockFormViewModel(volunteer, turf, Target.Door(mine))
        form.chooseResult("not_home")
        val k = assertNotNull(form.submit(here), form.state.value.error)
        if (other != null) {
            val refused = KnockFormViewModel(volunteer, turf, Target.Door(other))
            refused.chooseResult("not_home")
            assertNull(refused.submit(here))
            assertEquals(Msg.DOOR_SEALED.fr, refused.state.value.error)
        }
        // Back online: the lease goes first, then the knock; once on the server.
        assertIs<SyncOutcome.Done>(runBlocking { volSync.syncNow() })
        assertEquals(listOf(1), onServer(listOf(k.id)))
        assertEquals("accepted", volunteer.store.leases().single().state)
    }
}
