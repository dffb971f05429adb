package org.doorstep.app

import android.app.Application
import org.doorstep.field.FieldApp
import org.doorstep.field.Lang
import org.doorstep.field.SyncController
import java.util.Locale

/** Holds the one FieldApp (the store handle) and the sync controller for screens and workers. */
class DoorstepApplication : Application() {
    lateinit var field: FieldApp
        private set
    lateinit var sync: SyncController
        private set

    override fun onCreate() {
        super.onCreate()
        val lang = if (Locale.getDefault().language == "en") Lang.EN else Lang.FR
        field = FieldApp(filesDir.resolve("field"), KeystoreSecrets(this), WorkManagerScheduler(this), lang = lang)
        sync = SyncController(field)
        watchConnectivity(this) { online -> sync.setOnline(online) }
    }
}
