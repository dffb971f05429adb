// Drives the real doorstep cdylib on the JVM through the generated Kotlin bindings (JNA).
// Run by tests/bindings/run-kotlin.sh. Every method of the generated FieldStoreInterface, the
// constructor and every top-level function must be called: calls go through a recording
// java.lang.reflect.Proxy, and the last test compares the recording with the generated interface.

import java.io.File
import java.lang.reflect.Proxy
import java.nio.file.Files
import org.junit.AfterClass
import org.junit.FixMethodOrder
import org.junit.Test
import org.junit.runners.MethodSorters
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.doorstep.FieldException
import uniffi.doorstep.FieldStore
import uniffi.doorstep.FieldStoreInterface
import uniffi.doorstep.SyncListener
import uniffi.doorstep.protocolVersion
import uniffi.doorstep_core.SyncPhase
import kotlinx.coroutines.runBlocking
import uniffi.doorstep_protocol.DoorStatus
import uniffi.doorstep_core.KnockDraft
import uniffi.doorstep_core.KnockInput
import uniffi.doorstep_core.PairSide
import uniffi.doorstep_core.ReceiptState
import uniffi.doorstep_protocol.Answer
import uniffi.doorstep_protocol.Audience
import uniffi.doorstep_protocol.CoopainStep
import uniffi.doorstep_protocol.FieldVisibility
import uniffi.doorstep_protocol.ProfileSettings
import uniffi.doorstep_protocol.AnswerValue
import uniffi.doorstep_protocol.Position
import uniffi.doorstep_protocol.Target

val called = mutableSetOf<String>()

fun openStore(path: String, key: String? = null): FieldStoreInterface {
    called += "open"
    val real = FieldStore.open(path, key)
    return Proxy.newProxyInstance(
        FieldStoreInterface::class.java.classLoader,
        arrayOf(FieldStoreInterface::class.java),
    ) { _, method, args ->
        called += method.name
        try {
            method.invoke(real, *(args ?: emptyArray()))
        } catch (e: java.lang.reflect.InvocationTargetException) {
            throw e.targetException
        }
    } as FieldStoreInterface
}

// The generated interface declares no checked exceptions, so the JDK proxy wraps a FieldException
// in UndeclaredThrowableException; unwrap it where a test expects the error.
fun <T> unwrapped(block: () -> T): T =
    try { block() } catch (e: java.lang.reflect.UndeclaredThrowableException) { throw e.undeclaredThrowable }

fun yes(q: String, v: Boolean) = Answer(q, AnswerValue.YesNo(v))
fun choice(q: String, v: String) = Answer(q, AnswerValue.Choice(v))
fun knock(door: String, code: String, answers: List<Answer> = emptyList(), note: String? = null, position: Position? = null) =
    KnockInput(Target.Door(door), code, answers, note, emptyList(), position)

@FixMethodOrder(MethodSorters.NAME_ASCENDING)
class FieldStoreTest {
    private val fixture = File(System.getenv("DOORSTEP_FIXTURE")).readBytes()
    private val dir = Files.createTempDirectory("doorstep-kt-").toFile()
    private val path = File(dir, "field.db").path

    private fun jsonIds(json: String, key: String): List<String> =
        Regex("\"$key\":\"([^\"]+)\"").findAll(json).map { it.groupValues[1] }.toList()

    @Test
    fun a_walkRecordCorrectCloseReopen() {
        var store = openStore(path)
        assertEquals(36, store.deviceId().length)
        assertEquals(9L, store.schemaVersion()) // the device store's migrations
        val summary = store.applyTurfPackage(fixture)
        assertEquals("kt", summary.turfId)
        assertEquals(120u, summary.buildings)
        assertEquals(listOf("kt"), store.turfs().map { it.id })
        assertEquals("Absent", store.resultCodes("kt").first { it.code == "not_home" }.labelFr)
        assertEquals("consent", store.surveyScript("kt").consentQuestionId)
        assertEquals(listOf("consent"), store.visibleQuestions("kt", listOf(yes("consent", false))))
        assertEquals(
            listOf("consent", "intent", "why_not", "topics", "support"),
            store.visibleQuestions("kt", listOf(yes("consent", true), choice("intent", "ne sait pas"))),
        )

        val start = Position(47.2135, -1.5590, 5.0)
        val route = store.computeRoute("kt", start, null, false)
        assertEquals(120, route.remaining.size)
        val first = route.next!!
        assertTrue(first.address.contains("Nantes"), first.address)
        val door = first.doors[0].id
        val here = Position(first.lat, first.lon, 4.0)
        // A paper walk sheet's QR code opens this door: its code computed here independently
        // (SHA-256 of a tag, the door id and a 0 salt; 30 bits in Crockford's base 32).
        val digest = java.security.MessageDigest.getInstance("SHA-256")
            .digest("doorstep-door-code-v1\u0000".toByteArray() + door.toByteArray() + byteArrayOf(0, 0, 0, 0))
        val bits = (0 until 5).fold(0L) { acc, i -> (acc shl 8) or (digest[i].toLong() and 0xff) } shr 10
        val code = (0 until 6).map { "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[((bits shr (25 - 5 * it)) and 31).toInt()] }.joinToString("")
        val found = store.doorFromSheet("doorstep://porte/kt/$code", null)
        assertEquals("kt" to door, found.turfId to found.doorId)
        assertEquals(door, store.doorFromSheet(code.lowercase(), "kt").doorId)
        assertFailsWith<FieldException.UnknownId> { unwrapped { store.doorFromSheet("doorstep://porte/kt/000000", null) } }
        val k1 = store.recordKnock(knock(door, "not_home", position = here))
        assertEquals(ReceiptState.Pending, k1.receipt)
        assertEquals(DoorStatus.ATTEMPTED, store.doorStatus(door))
        val k2 = store.correctKnock(
            k1.id,
            knock(
                door, "contact_made",
                listOf(yes("consent", true), choice("intent", "oui"), Answer("topics", AnswerValue.Choices(listOf("logement", "écologie")))),
                note = "Au 2e, porte gauche", position = here,
            ),
        )
        assertEquals(k1.id, k2.supersedes)
        assertEquals(k2.id, store.knock(k1.id).supersededBy)
        assertEquals(DoorStatus.CONTACTED, store.doorStatus(door))
        val progress = store.routeProgress("kt")
        assertEquals(1u, progress.doorsKnocked)
        assertNotEquals(first.buildingId, progress.next!!.buildingId)
        val odd = store.computeRoute("kt", start, PairSide.ODD, false)
        assertTrue(odd.remaining.size in 1 until 120)
        val loop = store.computeRoute("kt", start, PairSide.ODD, true)
        assertEquals(odd.remaining.map { it.buildingId }.sorted(), loop.remaining.map { it.buildingId }.sorted())

        val target = Target.Door(progress.next!!.doors[0].id)
        store.saveDraft(KnockDraft(target, "contact_made", listOf(yes("consent", true)), "en cours", emptyList(), 0))
        assertEquals(2u, store.pendingCount())
        store = openStore(path) // a reopen, as after the app was killed

        val ids = store.listKnocks("kt").map { it.id }
        assertEquals(listOf(k1.id, k2.id), ids)
        assertEquals(DoorStatus.CONTACTED, store.doorStatus(door))
        assertEquals("en cours", store.loadDraft(target)!!.note)
        assertEquals(1, store.listDrafts().size)
        assertTrue(store.discardDraft(target))
        assertNull(store.loadDraft(target))

        val batch = String(store.exportPendingBatch(10u))
        assertEquals(ids, jsonIds(batch, "id").filter { it in ids }.distinct())
        assertTrue(batch.contains("\"protocol\":${protocolVersion()}"))
        called += "protocolVersion"
        val ack = """{"protocol":1,"server_time_ms":0,"results":[{"id":"${ids[0]}","status":"accepted"},{"id":"${ids[1]}","status":"rejected","reason":"tournée close"}]}"""
        val a = store.applyPushResponse(ack.toByteArray())
        assertEquals(1u, a.accepted)
        assertEquals(1u, a.rejected)
        assertEquals(ReceiptState.Rejected("tournée close"), store.knock(ids[1]).receipt)
        val status = store.syncStatus()
        assertTrue(status.summaryFr.startsWith("0 en attente, 1 en échec, dernière synchro "), status.summaryFr)

        val moved = store.routeProgress("kt").remaining.last().buildingId
        val delta = """{"format":1,"turf_id":"kt","base_version":1,"version":2,"remove_buildings":["$moved"]}"""
        val applied = store.applyTurfDelta(delta.toByteArray())
        assertEquals(2uL, applied.version)
        assertEquals(119u, applied.buildings)
        assertEquals(emptyList(), store.purgeExpired())
        val purge = store.removeTurf("kt")
        assertEquals(0u, purge.reportsKeptPending)
        assertEquals(emptyList(), store.turfs())
    }

    @Test
    fun b_badInputGetsTypedErrors() {
        val store = openStore(path)
        store.applyTurfPackage(fixture)
        val door = store.routeProgress("kt").next!!.doors[0].id
        val e = assertFailsWith<FieldException.InvalidInput> { unwrapped {
            store.recordKnock(knock(door, "not_home", position = Position(Double.NaN, 0.0, null)))
        } }
        assertTrue(e.message!!.contains("coordinates"), e.message)
        assertFailsWith<FieldException.InvalidInput> { unwrapped {
            store.recordKnock(knock(door, "contact_made", listOf(yes("consent", false), choice("intent", "oui"))))
        } }
        assertFailsWith<FieldException.UnknownId> { unwrapped { store.recordKnock(knock("nowhere", "not_home")) } }
        assertFailsWith<FieldException.BadPackage> { unwrapped { store.applyTurfPackage(fixture.copyOf(fixture.size / 2)) } }
        // An encrypted store (SQLCipher) opens with its key only.
        val keyed = File(dir, "keyed.db").path
        assertEquals(0u, openStore(keyed, "clé du trousseau").pendingCount())
        assertFailsWith<FieldException.Encryption> { unwrapped { openStore(keyed, "pas la clé") } }
        val junk = File(dir, "junk.bin").apply { writeBytes(ByteArray(8192) { (it * 31).toByte() }) }
        assertFailsWith<FieldException.NotOurStore> { unwrapped { openStore(junk.path) } }
        assertEquals(0u, store.pendingCount())
    }

    @Test
    fun c_syncAgainstARealServer() {
        val server = ProcessBuilder(System.getenv("DOORSTEP_SERVER"), "test-fixture", "--database", File(dir, "server.db").path)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        try {
            val line = server.inputStream.bufferedReader().readLine()
            val url = Regex("\"url\":\"([^\"]+)\"").find(line)!!.groupValues[1]
            val code = Regex("\"code\":\"([^\"]+)\"").find(line)!!.groupValues[1]
            val turf = Regex("\"turf\":\"([^\"]+)\"").find(line)!!.groupValues[1]
            val store = openStore(File(dir, "sync.db").path)
            assertEquals(false, store.isWiped())
            assertNull(store.pullCursor())
            val joined = runBlocking { store.join(url, code) }
            assertEquals("demo-nantes", joined.campaignId)
            val phases = mutableListOf<SyncPhase>()
            val listener = object : SyncListener {
                override fun onProgress(phase: SyncPhase, pending: UInt, attempt: UInt) { phases += phase }
            }
            val first = runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(1u, first.pull.turfsUpdated)
            assertEquals(listOf(turf), store.turfs().map { it.id })
            val door = store.routeProgress(turf).next!!.doors[0].id
            store.recordKnock(knock(door, "not_home"))
            val second = runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(1u, second.accepted)
            assertEquals(0u, second.pendingAfter)
            assertEquals(SyncPhase.DONE, phases.last())
            val once = runBlocking { store.syncOnce(url, joined.token, listener) }
            assertEquals(Triple(1u, 0u, 0u), Triple(once.attempts, once.accepted, once.pendingAfter))
            assertFailsWith<FieldException.Refused> { unwrapped { runBlocking { store.sync(url, "forged-token", listener) } } }

            // Issue 17 through the bindings: a captain's own phone, a session, a sign-up with no
            // network, the grant, a street handed by QR text and received.
            val coordinator = Regex("\"coordinator_token\":\"([^\"]+)\"").find(line)!!.groupValues[1]
            val http = java.net.http.HttpClient.newHttpClient()
            fun post(path: String, token: String, body: String?): String {
                val b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + path)).header("Authorization", "Bearer $token")
                val req = if (body == null) b.POST(java.net.http.HttpRequest.BodyPublishers.noBody())
                else b.header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                val r = http.send(req.build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                assertTrue(r.statusCode() in 200..201, "$path: ${r.body()}")
                return r.body()
            }
            fun field(json: String, key: String) = Regex("\"$key\":\"([^\"]+)\"").find(json)!!.groupValues[1]
            val capToken = field(post("/api/v1/invitations", coordinator, """{"name":"Cap","user_id":"cap-kt","role":"captain"}"""), "token")
            val phoneCode = field(post("/api/v1/me/phone", capToken, null), "join_code")
            val now = System.currentTimeMillis()
            post("/api/v1/sessions", coordinator, """{"id":"s-kt","campaign_id":"x","title":"Samedi","start_ms":${now - 600_000},
                "end_ms":${now + 7_200_000},"meeting_lat":47.2184,"meeting_lon":-1.5536,"meeting_text":"Devant le marché",
                "capacity":5,"captains":["cap-kt"],"turfs":["$turf"],"team_id":null,"visibility":"campaign"}""")
            runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(listOf("s-kt"), store.sessions().map { it.id })
            val signed = store.signUp("s-kt", uniffi.doorstep_protocol.SignupKind.SIGN_UP)
            assertEquals(uniffi.doorstep_protocol.Attendance.SIGNED_UP, signed.standing)
            assertTrue(signed.pending)
            runBlocking { store.sync(url, joined.token, listener) }
            // A session in an hour: a late sign-up's reminder comes with the next sync, until dismissed.
            post("/api/v1/sessions", coordinator, """{"id":"s-kt-bientot","campaign_id":"x","title":"Tout à l'heure","start_ms":${now + 3_600_000},
                "end_ms":${now + 7_200_000},"meeting_lat":47.2184,"meeting_lon":-1.5536,"meeting_text":"Place Royale",
                "capacity":5,"captains":["cap-kt"],"turfs":[],"team_id":null,"visibility":"campaign"}""")
            runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(emptyList(), store.reminders())
            store.signUp("s-kt-bientot", uniffi.doorstep_protocol.SignupKind.SIGN_UP)
            runBlocking { store.sync(url, joined.token, listener) }
            val reminders = store.reminders()
            assertEquals(listOf("s-kt-bientot:late"), reminders.map { it.id })
            assertTrue(reminders[0].text.contains("« Tout à l'heure », Place Royale"), reminders[0].text)
            store.dismissReminder(reminders[0].id)
            runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(emptyList(), store.reminders())
            val captain = openStore(File(dir, "captain.db").path)
            val capJoin = runBlocking { captain.join(url, phoneCode) }
            runBlocking { captain.sync(url, capJoin.token, listener) }
            assertTrue(runBlocking { captain.requestGrant(url, capJoin.token, "s-kt") } > now)
            val street = captain.turfStreets(turf).first()
            assertTrue(street.doors > 0u)
            val handed = captain.giveHandoff("s-kt", joined.volunteerId, turf, street.street, 60u)
            assertTrue(handed.qrText.startsWith("DSH1."))
            val lease = store.receiveHandoff(handed.qrText)
            assertEquals(street.street, lease.street)
            assertEquals(listOf("received"), store.leases().map { it.direction })
            assertFailsWith<FieldException.InvalidInput> { unwrapped { store.receiveHandoff("pas un code") } }
            val checkedIn = store.checkIn(captain.checkinCode("s-kt", 30u))
            assertEquals(uniffi.doorstep_protocol.Attendance.CHECKED_IN, checkedIn.standing)
            captain.confirmCheckIn("s-kt", joined.volunteerId)
            runBlocking { captain.sync(url, capJoin.token, listener) }

            // Issue 18 through the bindings: the channels, a message written with no network
            // (pending, then sent), read; what a volunteer may not do is refused by the rule book.
            val channels = store.channels()
            val announce = channels.first { it.id == "announce" }
            assertFalse(announce.canPost)
            assertFailsWith<FieldException.InvalidInput> { unwrapped { store.postMessage("announce", "Salut", null, null, null) } }
            val ch = channels.first { it.canPost }.id
            val written = store.postMessage(ch, "La rue est faite", null, street.street, turf)
            assertEquals(Pair("pending", street.street), Pair(written.state, written.street))
            runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(listOf("sent"), store.thread(ch).map { it.state })
            assertEquals(0u, runBlocking { store.listenMessages(url, joined.token, 0uL) })
            store.markRead(ch)
            assertEquals(0u, store.channels().first { it.id == ch }.unread)
            assertFailsWith<FieldException.InvalidInput> { unwrapped { store.pinMessage(ch, written.id) } }
            // Issue 18 again: a page's settings and a coopain link, written offline; a photo (made
            // by the JDK's ImageIO), the export, and the deletion of the account (pushed first, then
            // the phone wiped).
            val twoCode = field(post("/api/v1/invitations", coordinator, """{"name":"Deux","user_id":"vol-kt2"}"""), "join_code")
            val two = openStore(File(dir, "two.db").path)
            val twoJoin = runBlocking { two.join(url, twoCode) }
            val everyone = FieldVisibility(Audience.CAMPAIGN, Audience.CAMPAIGN, Audience.CAMPAIGN, Audience.CAMPAIGN,
                Audience.TEAM, Audience.TEAM, Audience.COOPAINS)
            store.setProfile(ProfileSettings("Kt", "Le samedi", everyone))
            assertFailsWith<FieldException.InvalidInput> { unwrapped { store.coopain("vol-kt2", CoopainStep.ACCEPT) } }
            store.coopain("vol-kt2", CoopainStep.ASK)
            assertEquals(Pair("Kt", 2u), Pair(store.people().settings.pseudonym, store.people().pending))
            runBlocking { store.sync(url, joined.token, listener) }
            runBlocking { two.sync(url, twoJoin.token, listener) }
            assertEquals(listOf(Pair(joined.volunteerId, "asked_by_them")), two.people().coopains.map { Pair(it.userId, it.coopain) })
            two.coopain(joined.volunteerId, CoopainStep.ACCEPT)
            runBlocking { two.sync(url, twoJoin.token, listener) }
            runBlocking { store.sync(url, joined.token, listener) }
            assertEquals(listOf("linked"), store.people().coopains.map { it.coopain })
            val png = java.io.ByteArrayOutputStream().also {
                val img = java.awt.image.BufferedImage(40, 30, java.awt.image.BufferedImage.TYPE_INT_RGB)
                javax.imageio.ImageIO.write(img, "png", it)
            }.toByteArray()
            assertTrue(runBlocking { store.setPhoto(url, joined.token, png) })
            val jpeg = runBlocking { two.photo(url, twoJoin.token, joined.volunteerId) }
            assertEquals(listOf(0xFF.toByte(), 0xD8.toByte()), jpeg.take(2))
            val exported = runBlocking { store.exportMyData(url, joined.token) }
            assertTrue(exported.contains("\"doorstep.personal-data/1\""), exported.take(200))
            assertFailsWith<FieldException.InvalidInput> { unwrapped { runBlocking { store.deleteAccount(url, joined.token, "non") } } }
            val gone = runBlocking { store.deleteAccount(url, joined.token, "SUPPRIMER") }
            assertTrue(gone.wiped)
            assertEquals(0, store.turfs().size)
        } finally {
            server.destroy()
            server.waitFor()
        }
    }

    @Test
    fun z_everyExportedFunctionWasCalled() {
        val exported = FieldStoreInterface::class.java.declaredMethods.map { it.name }.toMutableSet()
        exported += "open"
        exported += "protocolVersion"
        assertTrue(exported.size > 20)
        assertEquals(emptyList(), (exported - called).sorted(), "exported but never exercised from Kotlin")
    }
}
