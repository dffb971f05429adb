//! The device store's schema, as numbered migrations. One place, one step per version, applied in
//! an IMMEDIATE transaction each. Never edit a published step: add a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{CoreError, Result};

/// `PRAGMA application_id` of a Doorstep device store ("DOOR").
pub const APPLICATION_ID: i64 = 0x444F_4F52;

pub const MIGRATIONS: &[&str] = &[
    // 1: the field core.
    r#"
    CREATE TABLE device_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE campaigns (
        id                 TEXT PRIMARY KEY,
        name               TEXT NOT NULL,
        mode               TEXT NOT NULL CHECK (mode IN ('address_only', 'voter_file')),
        result_codes       TEXT NOT NULL,   -- JSON [ResultCode]
        survey             TEXT NOT NULL,   -- JSON SurveyScript
        survey_version     INTEGER NOT NULL,
        retention_until_ms INTEGER
    ) STRICT;

    CREATE TABLE turfs (
        id               TEXT PRIMARY KEY,
        campaign_id      TEXT NOT NULL REFERENCES campaigns(id),
        name             TEXT NOT NULL,
        version          INTEGER NOT NULL,
        volunteer_id     TEXT NOT NULL,
        lease_expires_ms INTEGER,
        street_network   TEXT,              -- JSON StreetNetwork, carried for routing
        applied_ms       INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE buildings (
        id              TEXT PRIMARY KEY,
        turf_id         TEXT NOT NULL REFERENCES turfs(id) ON DELETE CASCADE,
        street          TEXT NOT NULL,
        house_number    TEXT NOT NULL,
        postcode        TEXT NOT NULL,
        city            TEXT NOT NULL,
        polling_station TEXT,
        lat             REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
        lon             REAL NOT NULL CHECK (lon BETWEEN -180 AND 180)
    ) STRICT;
    CREATE INDEX buildings_turf ON buildings(turf_id);

    CREATE TABLE entrances (
        id          TEXT PRIMARY KEY,
        building_id TEXT NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
        label       TEXT NOT NULL,
        digicode    TEXT,
        interphone  TEXT,
        caretaker   TEXT,
        notes       TEXT
    ) STRICT;
    CREATE INDEX entrances_building ON entrances(building_id);

    CREATE TABLE doors (
        id           TEXT PRIMARY KEY,
        building_id  TEXT NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
        entrance_id  TEXT REFERENCES entrances(id) ON DELETE CASCADE,
        floor        INTEGER,
        label        TEXT NOT NULL,
        safety_flags TEXT NOT NULL DEFAULT '[]'   -- JSON [SafetyFlag]
    ) STRICT;
    CREATE INDEX doors_building ON doors(building_id);

    CREATE TABLE households (
        id      TEXT PRIMARY KEY,
        door_id TEXT NOT NULL REFERENCES doors(id) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX households_door ON households(door_id);

    CREATE TABLE people (
        id           TEXT PRIMARY KEY,
        household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        display_name TEXT NOT NULL,
        birth_year   INTEGER
    ) STRICT;
    CREATE INDEX people_household ON people(household_id);

    -- Knock reports are immutable facts. No foreign key to the turf: purging a turf must never take
    -- an unacknowledged report with it.
    CREATE TABLE knocks (
        id           TEXT PRIMARY KEY,
        campaign_id  TEXT NOT NULL,
        turf_id      TEXT NOT NULL,
        building_id  TEXT NOT NULL,
        door_id      TEXT,                 -- NULL when the whole building was the target
        target_kind  TEXT NOT NULL CHECK (target_kind IN ('building', 'door', 'person')),
        target_id    TEXT NOT NULL,
        result_code  TEXT NOT NULL,
        outcome      TEXT NOT NULL,
        supersedes   TEXT,
        hlc_millis   INTEGER NOT NULL,
        hlc_counter  INTEGER NOT NULL,
        monotonic_ms INTEGER NOT NULL,
        body         TEXT NOT NULL         -- JSON KnockReport, exactly as pushed
    ) STRICT, WITHOUT ROWID;
    -- One index only: each index is another page written (and synced) by every knock. UUIDv7 ids
    -- make the table itself append at its right edge. Listing a turf's reports scans the table,
    -- which holds a few thousand rows at most on a phone (acknowledged reports are purged with
    -- their turf).
    CREATE INDEX knocks_building ON knocks(building_id);
    CREATE TRIGGER knocks_immutable BEFORE UPDATE ON knocks
        BEGIN SELECT RAISE(ABORT, 'knock reports are immutable'); END;

    -- The outbox row is the report's receipt: pending until the server answers.
    CREATE TABLE outbox (
        knock_id   TEXT PRIMARY KEY REFERENCES knocks(id) ON DELETE CASCADE,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'duplicate', 'rejected')),
        reason     TEXT,
        attempts   INTEGER NOT NULL DEFAULT 0,
        updated_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;   -- no index on state: the outbox is scanned (same reason)

    CREATE TABLE drafts (
        target_kind TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        body        TEXT NOT NULL,         -- JSON draft
        updated_ms  INTEGER NOT NULL,
        PRIMARY KEY (target_kind, target_id)
    ) STRICT;

    CREATE TABLE route_stops (
        turf_id     TEXT NOT NULL REFERENCES turfs(id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        building_id TEXT NOT NULL,
        PRIMARY KEY (turf_id, position)
    ) STRICT;
    "#,
    // 2: the walk to each stop as computed with the route (along streets when the turf has them).
    r#"
    ALTER TABLE route_stops ADD COLUMN walk_m REAL;
    "#,
    // 3: what other volunteers did on this turf's doors, as door status needs it (from each pull:
    // a street moved here from someone else, two volunteers on one door).
    r#"
    CREATE TABLE door_facts (
        turf_id    TEXT NOT NULL REFERENCES turfs(id) ON DELETE CASCADE,
        door_id    TEXT NOT NULL,
        report_id  TEXT NOT NULL,
        supersedes TEXT,
        outcome    TEXT NOT NULL,
        PRIMARY KEY (turf_id, door_id, report_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX door_facts_door ON door_facts(door_id);
    "#,
    // 4: canvass sessions' offline hand-off (issue 17). A turf held sealed (a session's, before a
    // captain hands it out); the grants this phone got as a session's captain; the hand-offs it
    // gave or received, each an outbox row until the server answers (a self-hand-off is both).
    r#"
    ALTER TABLE turfs ADD COLUMN staged INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE grants (
        session_id  TEXT PRIMARY KEY,
        body        TEXT NOT NULL,         -- JSON SignedGrant
        received_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE handoffs (
        id           TEXT NOT NULL,
        direction    TEXT NOT NULL CHECK (direction IN ('given', 'received')),
        session_id   TEXT NOT NULL,
        volunteer_id TEXT NOT NULL,
        turf_id      TEXT NOT NULL,
        street       TEXT,
        issued_ms    INTEGER NOT NULL,
        expires_ms   INTEGER NOT NULL,
        body         TEXT NOT NULL,        -- JSON SignedHandoff, exactly as pushed
        state        TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'duplicate', 'held', 'rejected')),
        reason       TEXT,
        updated_ms   INTEGER NOT NULL,
        PRIMARY KEY (id, direction)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 5: canvass sessions as the phone last heard of them, and the volunteer's sign-up events,
    // written offline into an outbox like knocks (issue 17).
    r#"
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        body        TEXT NOT NULL,         -- JSON Session
        standing    TEXT,                  -- the server's, at the last fetch
        places_left INTEGER NOT NULL,
        local       TEXT,                  -- the standing with this phone's pending events
        fetched_ms  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE signup_outbox (
        id         TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        body       TEXT NOT NULL,          -- JSON SignupEvent, exactly as pushed
        state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'duplicate', 'rejected')),
        reason     TEXT,
        updated_ms INTEGER NOT NULL
    ) STRICT;
    "#,
    // 6: session reminders the server served (issue 17), each shown once: a reminder served again
    // at the next sync keeps its row and its `shown_ms`.
    r#"
    CREATE TABLE reminders (
        id         TEXT PRIMARY KEY,       -- <session id>:<kind>
        session_id TEXT NOT NULL,
        kind       TEXT NOT NULL,
        due_ms     INTEGER NOT NULL,
        text       TEXT NOT NULL,
        shown_ms   INTEGER
    ) STRICT;
    "#,
    // 7: team messages (issue 18). The channels as the server last described them (in its
    // order), their messages (`seq` NULL while only this phone has it), the message events written
    // here (an outbox like the knocks'), and this person's read marks made here since.
    r#"
    CREATE TABLE channels (
        id         TEXT PRIMARY KEY,
        body       TEXT NOT NULL,          -- JSON ChannelView
        position   INTEGER NOT NULL,
        fetched_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE messages (
        id         TEXT PRIMARY KEY,
        channel_id TEXT NOT NULL,
        seq        INTEGER,
        body       TEXT NOT NULL           -- JSON Message
    ) STRICT;
    CREATE INDEX messages_channel ON messages(channel_id, seq);

    CREATE TABLE message_outbox (
        id         TEXT PRIMARY KEY,
        channel_id TEXT NOT NULL,
        body       TEXT NOT NULL,          -- JSON MessageEvent, exactly as pushed
        state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'duplicate', 'rejected')),
        reason     TEXT,
        updated_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE read_marks (
        channel_id TEXT PRIMARY KEY,
        seq        INTEGER NOT NULL
    ) STRICT;
    "#,
    // 8: the team's people (issue 18). What the server last said about this person's page, their
    // coopains and team (one row), the people events written here (page settings, coopain steps:
    // an outbox like the knocks'), and the coopains going to each session.
    r#"
    CREATE TABLE people_view (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        body       TEXT NOT NULL,          -- JSON PeopleView
        fetched_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE people_outbox (
        id         TEXT PRIMARY KEY,
        body       TEXT NOT NULL,          -- JSON PeopleEvent, exactly as pushed
        state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'duplicate', 'rejected')),
        reason     TEXT,
        updated_ms INTEGER NOT NULL
    ) STRICT;

    -- The coopains going to each session, as the server last listed them (JSON array of names).
    ALTER TABLE sessions ADD COLUMN coopains TEXT;
    "#,
    r#"
    -- Stops whose position cannot be right (issue 22): why, how far, walked on their street or last.
    ALTER TABLE route_stops ADD COLUMN misplaced_why TEXT;
    ALTER TABLE route_stops ADD COLUMN misplaced_m REAL;
    ALTER TABLE route_stops ADD COLUMN placed_on_street INTEGER NOT NULL DEFAULT 0;
    "#,
];

pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`current_version`]. A database from a newer build is refused.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > current_version() {
        return Err(CoreError::NewerSchema { found, supported: current_version() });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
    }
    Ok(())
}
