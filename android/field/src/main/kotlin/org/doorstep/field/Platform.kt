package org.doorstep.field

// What the platform provides to the view models. Android: AndroidKeystoreSecrets and
// WorkManagerScheduler in :app; iOS: the Keychain and BGTaskScheduler. Tests: in-memory fakes.

/** Small secrets kept by the platform's keystore: the store key, the server address and token. */
interface SecretStore {
    fun get(name: String): String?
    fun put(name: String, value: String)
    fun remove(name: String)
}

/**
 * Runs one background sync later, when a network is there (WorkManager with a CONNECTED
 * constraint; BGTaskScheduler). A new request replaces the earlier one. The view models never
 * loop or sleep waiting for a network: they ask for a run and return.
 */
interface SyncScheduler {
    fun schedule(delayMs: Long, requireBatteryNotLow: Boolean)
    fun cancel()
}

fun interface Clock {
    fun nowMs(): Long
}

val SystemClock = Clock { System.currentTimeMillis() }

enum class Lang { FR, EN }
