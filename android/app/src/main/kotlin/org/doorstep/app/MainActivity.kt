package org.doorstep.app

// The screens, in Compose, over :field's view models. NEVER BUILT HERE (no Android SDK): this file
// only draws state and forwards taps; the behaviour it relies on is tested in :field.

import android.Manifest
import android.annotation.SuppressLint
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.Canvas
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.*
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.lifecycleScope
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.doorstep.field.*
import uniffi.doorstep_protocol.AnswerValue
import uniffi.doorstep_protocol.DoorStatus
import uniffi.doorstep_protocol.Position
import uniffi.doorstep_protocol.QuestionKind
import uniffi.doorstep_protocol.Target

sealed interface Screen {
    data object Turfs : Screen
    data class Route(val turfId: String) : Screen
    data class Knock(val turfId: String, val target: Target, val hasPeople: Boolean) : Screen
}

class MainActivity : ComponentActivity() {
    private var position: Position? = null

    @SuppressLint("MissingPermission")
    private val locationPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) {
            LocationServices.getFusedLocationProviderClient(this)
                .getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, null)
                .addOnSuccessListener { loc -> loc?.let { position = Position(it.latitude, it.longitude, it.accuracy.toDouble()) } }
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as DoorstepApplication
        locationPermission.launch(Manifest.permission.ACCESS_FINE_LOCATION)
        val link = intent?.data?.toString()
        setContent {
            MaterialTheme {
                val state by app.field.state.collectAsStateWithLifecycle()
                val sync by app.sync.state.collectAsStateWithLifecycle()
                Column(Modifier.fillMaxSize().systemBarsPadding()) {
                    sync.banner?.let { Surface(color = MaterialTheme.colorScheme.errorContainer) { Text(it, Modifier.fillMaxWidth().padding(12.dp)) } }
                    when (val s = state) {
                        is AppState.NeedsJoin -> JoinScreen(app, link)
                        is AppState.Wiped -> Text(s.message, Modifier.padding(24.dp), style = MaterialTheme.typography.titleMedium)
                        is AppState.Ready -> Field(app, sync)
                    }
                }
            }
        }
    }

    @Composable
    private fun JoinScreen(app: DoorstepApplication, link: String?) {
        var input by remember { mutableStateOf(link ?: "") }
        var error by remember { mutableStateOf<String?>(null) }
        Column(Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
            Text(if (app.field.lang == Lang.FR) "Rejoindre une campagne" else "Join a campaign", style = MaterialTheme.typography.headlineSmall)
            OutlinedTextField(input, { input = it }, label = { Text(if (app.field.lang == Lang.FR) "Lien ou code d'invitation" else "Invitation link or code") })
            Button(onClick = { lifecycleScope.launch { error = withContext(Dispatchers.IO) { app.field.join(input) } } }) {
                Text(if (app.field.lang == Lang.FR) "Rejoindre" else "Join")
            }
            error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        }
    }

    @Composable
    private fun Field(app: DoorstepApplication, sync: SyncUi) {
        var screen by remember { mutableStateOf<Screen>(Screen.Turfs) }
        Row(Modifier.fillMaxWidth().padding(8.dp)) {
            Text(sync.summary, Modifier.weight(1f))
            TextButton(enabled = !sync.syncing, onClick = { lifecycleScope.launch(Dispatchers.IO) { app.sync.syncNow() } }) {
                Text(if (app.field.lang == Lang.FR) "Synchroniser" else "Sync")
            }
        }
        when (val s = screen) {
            Screen.Turfs -> TurfsScreen(app) { screen = Screen.Route(it) }
            is Screen.Route -> RouteScreen(app, s.turfId, { t, p -> screen = Screen.Knock(s.turfId, t, p) }) { screen = Screen.Turfs }
            is Screen.Knock -> KnockScreen(app, s) { screen = Screen.Route(s.turfId) }
        }
    }

    @Composable
    private fun TurfsScreen(app: DoorstepApplication, open: (String) -> Unit) {
        val vm = remember { TurfListViewModel(app.field) }
        LaunchedEffect(Unit) { withContext(Dispatchers.IO) { vm.refresh() } }
        val rows by vm.rows.collectAsStateWithLifecycle()
        LazyColumn {
            items(rows) { t ->
                ListItem(
                    headlineContent = { Text(t.name) },
                    supportingContent = { Text("${t.knocked} / ${t.doors} · ${t.lease ?: ""}") },
                    modifier = Modifier.clickable { open(t.id) },
                )
            }
        }
    }

    @Composable
    private fun RouteScreen(app: DoorstepApplication, turfId: String, knock: (Target, Boolean) -> Unit, back: () -> Unit) {
        val vm = remember { RouteViewModel(app.field, turfId) }
        LaunchedEffect(Unit) { withContext(Dispatchers.IO) { vm.start(position) } }
        DisposableEffect(Unit) {
            val stop = app.sync.onSynced { lifecycleScope.launch(Dispatchers.IO) { vm.refresh() } }
            onDispose { stop() }
        }
        val ui by vm.state.collectAsStateWithLifecycle()
        Column(Modifier.padding(12.dp)) {
            TextButton(onClick = back) { Text("←") }
            ui.message?.let { AssistChip(onClick = { vm.dismissMessage() }, label = { Text(it) }) }
            Text("${ui.doorsKnocked} / ${ui.doorsTotal} · ${ui.walkMetres} m")
            TurfMap(ui)
            ui.next?.let { stop ->
                Text(stop.address, style = MaterialTheme.typography.titleLarge)
                stop.entrances.forEach { e -> Text(listOfNotNull(e.label, e.digicode?.let { "Code $it" }, e.caretaker).joinToString(" · ")) }
                stop.doors.forEach { d ->
                    ListItem(
                        headlineContent = { Text(d.label.ifBlank { stop.houseNumber }) },
                        supportingContent = { Text(d.status.name + d.people.joinToString(prefix = " · ") { it.displayName }) },
                        modifier = Modifier.clickable { knock(Target.Door(d.id), d.people.isNotEmpty()) },
                    )
                    d.people.forEach { p ->
                        Text("   " + p.displayName, Modifier.clickable { knock(Target.Person(p.id), true) }.padding(8.dp))
                    }
                }
            }
        }
    }

    /** The turf's stops projected on a canvas (no tiles needed, offline): next in red, done in grey. */
    @Composable
    private fun TurfMap(ui: RouteUi) {
        val stops = ui.stops + ui.done
        Canvas(Modifier.fillMaxWidth().height(180.dp)) {
            if (stops.isEmpty()) return@Canvas
            val lat0 = stops.minOf { it.lat }; val lon0 = stops.minOf { it.lon }
            val span = maxOf(stops.maxOf { it.lat } - lat0, stops.maxOf { it.lon } - lon0, 1e-4)
            stops.forEach { s ->
                val x = ((s.lon - lon0) / span * size.width).toFloat()
                val y = (size.height - (s.lat - lat0) / span * size.height).toFloat()
                val colour = when {
                    s.buildingId == ui.next?.buildingId -> Color.Red
                    s in ui.done -> Color.Gray
                    else -> Color.Blue
                }
                drawCircle(colour, 8f, Offset(x, y))
            }
        }
    }

    @Composable
    private fun KnockScreen(app: DoorstepApplication, s: Screen.Knock, done: () -> Unit) {
        val vm = remember { KnockFormViewModel(app.field, s.turfId, s.target, doorHasPeople = s.hasPeople) }
        val ui by vm.state.collectAsStateWithLifecycle()
        Column(Modifier.padding(12.dp).verticalScroll(rememberScrollState())) {
            ui.results.forEach { r ->
                FilterChip(selected = ui.resultCode == r.code, onClick = { vm.chooseResult(r.code) }, label = { Text(r.label) })
            }
            ui.questions.forEach { q ->
                Text(q.text + if (q.question.required) " *" else "", style = MaterialTheme.typography.titleSmall)
                when (val k = q.question.kind) {
                    is QuestionKind.YesNo -> Row {
                        FilterChip(q.answer == AnswerValue.YesNo(true), { vm.answer(q.question.id, AnswerValue.YesNo(true)) }, { Text(if (app.field.lang == Lang.FR) "Oui" else "Yes") })
                        FilterChip(q.answer == AnswerValue.YesNo(false), { vm.answer(q.question.id, AnswerValue.YesNo(false)) }, { Text(if (app.field.lang == Lang.FR) "Non" else "No") })
                    }
                    is QuestionKind.SingleChoice -> k.choices.forEach { c ->
                        FilterChip(q.answer == AnswerValue.Choice(c), { vm.answer(q.question.id, AnswerValue.Choice(c)) }, { Text(c) })
                    }
                    is QuestionKind.MultipleChoice -> k.choices.forEach { c ->
                        val chosen = (q.answer as? AnswerValue.Choices)?.values.orEmpty()
                        FilterChip(c in chosen, {
                            val next = if (c in chosen) chosen - c else chosen + c
                            vm.answer(q.question.id, if (next.isEmpty()) null else AnswerValue.Choices(next))
                        }, { Text(c) })
                    }
                    is QuestionKind.Scale -> Row {
                        (1..5).forEach { n -> FilterChip(q.answer == AnswerValue.Scale(n.toUByte()), { vm.answer(q.question.id, AnswerValue.Scale(n.toUByte())) }, { Text("$n") }) }
                    }
                    is QuestionKind.FreeText -> OutlinedTextField(
                        (q.answer as? AnswerValue.Text)?.value ?: "",
                        { vm.answer(q.question.id, if (it.isBlank()) null else AnswerValue.Text(it)) },
                    )
                }
            }
            OutlinedTextField(ui.note, vm::setNote, label = { Text("Note") })
            ui.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            Button(onClick = {
                if (vm.submit(position) != null) {
                    app.sync.knockRecorded()
                    done()
                }
            }) { Text(if (app.field.lang == Lang.FR) "Enregistrer" else "Save") }
        }
    }
}
