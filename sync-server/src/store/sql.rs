//! SQL shared by both backends: the schema and its migrations, and the statements more than one
//! file runs (the backends' hot paths among them). A statement only one operation runs sits
//! beside that operation, at the end of its file in `store/ops/` or `store/push.rs`.
//!
//! Placeholders are `$1, $2, …` in order of first use: PostgreSQL's own syntax, and in SQLite
//! named parameters that rusqlite binds by position in that same order.
//! Types are the common subset (TEXT, BIGINT, DOUBLE PRECISION, BOOLEAN as 0/1 in SQLite).

/// The index of buildings by turf (schema version 1; a large first cut on SQLite drops it and
/// builds it again, `store::ops::turfs`).
pub const CREATE_BUILDINGS_TURF: &str = "CREATE INDEX buildings_turf ON buildings(turf_id)";

/// Schema, version 1. Each backend runs it inside its migration step.
pub const SCHEMA_V1: &[&str] = &[
    "CREATE TABLE campaigns (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, mode TEXT NOT NULL, result_codes TEXT NOT NULL,
        survey TEXT NOT NULL, retention_until_ms BIGINT, created_ms BIGINT NOT NULL)",
    "CREATE TABLE users (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), role TEXT NOT NULL,
        display_name TEXT NOT NULL, team_id TEXT)",
    "CREATE TABLE join_codes (
        code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), expires_ms BIGINT NOT NULL,
        used_ms BIGINT)",
    "CREATE TABLE devices (
        token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id),
        created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, revoked_ms BIGINT)",
    "CREATE INDEX devices_device ON devices(device_id)",
    "CREATE TABLE turfs (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), name TEXT NOT NULL,
        version BIGINT NOT NULL, volunteer_id TEXT REFERENCES users(id), lease_expires_ms BIGINT)",
    "CREATE INDEX turfs_volunteer ON turfs(volunteer_id)",
    "CREATE TABLE buildings (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), turf_id TEXT REFERENCES turfs(id),
        street TEXT NOT NULL, house_number TEXT NOT NULL, postcode TEXT NOT NULL, city TEXT NOT NULL,
        polling_station TEXT, lat DOUBLE PRECISION NOT NULL, lon DOUBLE PRECISION NOT NULL)",
    CREATE_BUILDINGS_TURF,
    "CREATE TABLE entrances (
        id TEXT PRIMARY KEY, building_id TEXT NOT NULL REFERENCES buildings(id), label TEXT NOT NULL,
        digicode TEXT, interphone TEXT, caretaker TEXT, notes TEXT)",
    "CREATE INDEX entrances_building ON entrances(building_id)",
    "CREATE TABLE doors (
        id TEXT PRIMARY KEY, building_id TEXT NOT NULL REFERENCES buildings(id), entrance_id TEXT REFERENCES entrances(id),
        floor INTEGER, label TEXT NOT NULL, safety_flags TEXT NOT NULL)",
    "CREATE INDEX doors_building ON doors(building_id)",
    "CREATE TABLE reports (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, turf_id TEXT NOT NULL, building_id TEXT NOT NULL,
        door_id TEXT, device_id TEXT NOT NULL, volunteer_id TEXT NOT NULL, result_code TEXT NOT NULL,
        supersedes TEXT, hlc_millis BIGINT NOT NULL, hlc_counter BIGINT NOT NULL, overlap BOOLEAN NOT NULL,
        received_ms BIGINT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX reports_campaign ON reports(campaign_id, hlc_millis, hlc_counter)",
];

/// Schema, version 2: teams and their captains, turfs owned by a team, the voter file (households,
/// people), the survey script's history (a report is checked against the version it was made
/// with), the per-turf op log that pull turns into deltas, who ever held a turf and where a
/// building used to be (so a late report is accepted as an overlap, and a report on a turf its
/// volunteer never held is refused), and a cached checksum per turf version.
pub const SCHEMA_V2: &[&str] = &[
    "CREATE TABLE teams (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), name TEXT NOT NULL)",
    "CREATE TABLE team_captains (
        team_id TEXT NOT NULL REFERENCES teams(id), user_id TEXT NOT NULL REFERENCES users(id),
        PRIMARY KEY (team_id, user_id))",
    "ALTER TABLE turfs ADD COLUMN team_id TEXT REFERENCES teams(id)",
    "ALTER TABLE turfs ADD COLUMN checksum TEXT",
    "ALTER TABLE turfs ADD COLUMN checksum_version BIGINT",
    "CREATE TABLE households (id TEXT PRIMARY KEY, door_id TEXT NOT NULL REFERENCES doors(id))",
    "CREATE INDEX households_door ON households(door_id)",
    "CREATE TABLE people (
        id TEXT PRIMARY KEY, household_id TEXT NOT NULL REFERENCES households(id), display_name TEXT NOT NULL,
        birth_year INTEGER)",
    "CREATE INDEX people_household ON people(household_id)",
    "CREATE TABLE survey_versions (
        campaign_id TEXT NOT NULL REFERENCES campaigns(id), version BIGINT NOT NULL, survey TEXT NOT NULL,
        result_codes TEXT NOT NULL, created_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, version))",
    "INSERT INTO survey_versions(campaign_id, version, survey, result_codes, created_ms)
        SELECT id, 1, survey, result_codes, created_ms FROM campaigns",
    "CREATE TABLE turf_ops (
        turf_id TEXT NOT NULL REFERENCES turfs(id), version BIGINT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (turf_id, version))",
    "CREATE TABLE turf_holders (
        turf_id TEXT NOT NULL REFERENCES turfs(id), volunteer_id TEXT NOT NULL REFERENCES users(id),
        PRIMARY KEY (turf_id, volunteer_id))",
    "INSERT INTO turf_holders(turf_id, volunteer_id) SELECT id, volunteer_id FROM turfs WHERE volunteer_id IS NOT NULL",
    "CREATE TABLE building_moves (
        building_id TEXT NOT NULL REFERENCES buildings(id), from_turf TEXT NOT NULL REFERENCES turfs(id),
        PRIMARY KEY (building_id, from_turf))",
    "ALTER TABLE reports ADD COLUMN person_id TEXT",
    "CREATE INDEX reports_building ON reports(building_id)",
    "CREATE INDEX users_campaign ON users(campaign_id)",
];

/// Schema, version 3: the campaign's street network (GeoJSON import), versioned, from which each
/// turf's package carries the part it needs.
pub const SCHEMA_V3: &[&str] = &["CREATE TABLE street_networks (
        campaign_id TEXT PRIMARY KEY REFERENCES campaigns(id), version BIGINT NOT NULL, edges BIGINT NOT NULL,
        body TEXT NOT NULL)"];

/// Schema, version 4: polling stations (past results and boundaries) and the campaign's targeting
/// formula; indexes for re-cutting (is a turf worked?) and per-station door counts.
pub const SCHEMA_V4: &[&str] = &[
    "CREATE TABLE stations (
        campaign_id TEXT NOT NULL REFERENCES campaigns(id), id TEXT NOT NULL, results TEXT, boundary TEXT,
        PRIMARY KEY (campaign_id, id))",
    "CREATE TABLE targeting (campaign_id TEXT PRIMARY KEY REFERENCES campaigns(id), formula TEXT NOT NULL)",
    "CREATE INDEX reports_turf ON reports(turf_id)",
    "CREATE INDEX buildings_campaign ON buildings(campaign_id, polling_station)",
];

/// Schema, version 5: staff logins for the dashboard (a login name unique on the server, an
/// argon2id password hash); dashboard sessions are tokens in `devices` under `session:` ids; when
/// each device last synced; overlaps a captain has reviewed.
pub const SCHEMA_V5: &[&str] = &[
    "ALTER TABLE users ADD COLUMN login TEXT",
    "ALTER TABLE users ADD COLUMN password_hash TEXT",
    "CREATE UNIQUE INDEX users_login ON users(login)",
    "ALTER TABLE devices ADD COLUMN last_seen_ms BIGINT",
    "CREATE TABLE overlap_reviews (
        report_id TEXT PRIMARY KEY REFERENCES reports(id), user_id TEXT NOT NULL REFERENCES users(id),
        reviewed_ms BIGINT NOT NULL)",
];

/// Schema, version 6: the audit log — who downloaded which turf, who exported what, every
/// assignment, reassignment, revocation, sign-in and import — with no survey content, append-only
/// (triggers refuse UPDATE and DELETE, and TRUNCATE on PostgreSQL).
///
/// A statement starting with `/*sqlite*/` or `/*postgres*/` runs on that backend only.
pub const SCHEMA_V6: &[&str] = &[
    "CREATE TABLE audit_log (
        id TEXT PRIMARY KEY, at_ms BIGINT NOT NULL, campaign_id TEXT NOT NULL, actor TEXT NOT NULL,
        device_id TEXT, action TEXT NOT NULL, subject TEXT, detail TEXT NOT NULL)",
    "CREATE INDEX audit_log_campaign ON audit_log(campaign_id, at_ms)",
    "/*sqlite*/ CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "/*sqlite*/ CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "/*postgres*/ CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "/*postgres*/ CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "/*postgres*/ CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
];

/// Schema, version 7: what the dashboard aggregates in SQL instead of reading every report — where
/// each report was made (its position's latitude and longitude, copied out of the body, so the
/// volunteers' last positions need no JSON), and an index finding the correction of a report (a
/// report stands unless another supersedes it).
pub const SCHEMA_V7: &[&str] = &[
    "ALTER TABLE reports ADD COLUMN lat DOUBLE PRECISION",
    "ALTER TABLE reports ADD COLUMN lon DOUBLE PRECISION",
    "/*sqlite*/ UPDATE reports SET lat = json_extract(body, '$.position.lat'),
        lon = json_extract(body, '$.position.lon')",
    "/*postgres*/ UPDATE reports SET lat = (body::jsonb #>> '{position,lat}')::double precision,
        lon = (body::jsonb #>> '{position,lon}')::double precision",
    "CREATE INDEX reports_supersedes ON reports(supersedes) WHERE supersedes IS NOT NULL",
];

/// Schema, version 8: the rule book's merge (issue 15) — each report's body hash as pushed (the
/// same id with another body is an id conflict) and the time it counts as made (`at_ms`: the
/// device's clock within bounds, else the receipt time; back-filled the same way); reports of
/// revoked devices held for a captain's review, apart from the counted ones; when a revoked
/// device acknowledged its wipe (its token is dead from then on).
pub const SCHEMA_V8: &[&str] = &[
    "ALTER TABLE reports ADD COLUMN body_hash TEXT",
    "ALTER TABLE reports ADD COLUMN at_ms BIGINT",
    "UPDATE reports SET at_ms = CASE WHEN hlc_millis BETWEEN received_ms - 5184000000 AND received_ms + 600000
        THEN hlc_millis ELSE received_ms END",
    "CREATE INDEX reports_volunteer_at ON reports(volunteer_id, at_ms)",
    "CREATE TABLE held_reports (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, turf_id TEXT NOT NULL, building_id TEXT NOT NULL,
        door_id TEXT, device_id TEXT NOT NULL, volunteer_id TEXT NOT NULL, result_code TEXT NOT NULL,
        supersedes TEXT, hlc_millis BIGINT NOT NULL, hlc_counter BIGINT NOT NULL, overlap BOOLEAN NOT NULL,
        received_ms BIGINT NOT NULL, body TEXT NOT NULL, person_id TEXT, lat DOUBLE PRECISION,
        lon DOUBLE PRECISION, body_hash TEXT NOT NULL, at_ms BIGINT NOT NULL, reason TEXT NOT NULL,
        review TEXT, reviewed_by TEXT, reviewed_ms BIGINT)",
    "CREATE INDEX held_reports_campaign ON held_reports(campaign_id, review)",
    "ALTER TABLE devices ADD COLUMN wiped_ms BIGINT",
];

/// Schema, version 9: canvass sessions (issue 17) — each session as published (its JSON, with the
/// columns reads filter on), every volunteer's standing with it, and the sign-up events accepted
/// from phones (by their device-made id and body hash: a replay is a duplicate).
pub const SCHEMA_V9: &[&str] = &[
    "CREATE TABLE canvass_sessions (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), body TEXT NOT NULL,
        start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, team_id TEXT, visibility TEXT NOT NULL,
        cancelled BOOLEAN NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL)",
    "CREATE INDEX canvass_sessions_campaign ON canvass_sessions(campaign_id, end_ms)",
    "CREATE TABLE session_signups (
        session_id TEXT NOT NULL REFERENCES canvass_sessions(id), volunteer_id TEXT NOT NULL REFERENCES users(id),
        state TEXT NOT NULL, updated_ms BIGINT NOT NULL, PRIMARY KEY (session_id, volunteer_id))",
    "CREATE TABLE signup_events (
        id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES canvass_sessions(id), volunteer_id TEXT NOT NULL,
        device_id TEXT NOT NULL, body_hash TEXT NOT NULL, state TEXT NOT NULL, received_ms BIGINT NOT NULL)",
];

/// Version 10 (issue 17, the offline hand-off): each campaign's signing key (Ed25519, PKCS#8 in
/// base64url; its public half goes to every phone), the grants given to captains' devices per
/// session (the public key each device signs hand-offs with), and the hand-offs phones pushed,
/// accepted or refused (a refused one holds the knocks made under it for review).
pub const SCHEMA_V10: &[&str] = &[
    "CREATE TABLE campaign_keys (
        campaign_id TEXT PRIMARY KEY REFERENCES campaigns(id), pkcs8 TEXT NOT NULL, public_key TEXT NOT NULL,
        created_ms BIGINT NOT NULL)",
    "CREATE TABLE session_grants (
        session_id TEXT NOT NULL REFERENCES canvass_sessions(id), device_id TEXT NOT NULL,
        captain_id TEXT NOT NULL, public_key TEXT NOT NULL, not_before_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL, issued_ms BIGINT NOT NULL, PRIMARY KEY (session_id, device_id))",
    "CREATE TABLE handoffs (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id),
        session_id TEXT NOT NULL, captain_id TEXT NOT NULL, device_id TEXT NOT NULL,
        volunteer_id TEXT NOT NULL, turf_id TEXT NOT NULL, street TEXT, issued_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL, body TEXT NOT NULL, body_hash TEXT NOT NULL, status TEXT NOT NULL,
        code TEXT, received_ms BIGINT NOT NULL, received_from TEXT NOT NULL, applied_turf TEXT)",
    "CREATE INDEX handoffs_volunteer ON handoffs(volunteer_id, turf_id)",
    "CREATE INDEX handoffs_session ON handoffs(session_id)",
];

/// Version 11 (issue 17, reminders and the public sign-up page): volunteers' e-mail addresses
/// (for reminders), sign-ups of supporters without an account (their consent text recorded with
/// each), and every reminder planned: one row per (session, person, kind, channel), its state
/// moving forward only (pending → sending → sent | failed | dropped), so that retries and
/// restarts send none twice and lose none.
pub const SCHEMA_V11: &[&str] = &[
    "CREATE TABLE user_contacts (user_id TEXT PRIMARY KEY REFERENCES users(id), email TEXT)",
    "CREATE TABLE public_signups (
        id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES canvass_sessions(id), name TEXT NOT NULL,
        email TEXT, phone TEXT, consent_text TEXT NOT NULL, state TEXT NOT NULL, created_ms BIGINT NOT NULL)",
    "CREATE INDEX public_signups_session ON public_signups(session_id)",
    "CREATE TABLE reminders (
        session_id TEXT NOT NULL REFERENCES canvass_sessions(id), person TEXT NOT NULL, kind TEXT NOT NULL,
        channel TEXT NOT NULL, due_ms BIGINT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL,
        claimed_ms BIGINT, sent_ms BIGINT, error TEXT, PRIMARY KEY (session_id, person, kind, channel))",
    "CREATE INDEX reminders_due ON reminders(state, due_ms)",
];

/// Version 12 (issue 18, team messages): each channel's row (its last place `seq`, the pinned
/// message, the pair of a direct channel), the messages in the order the server placed them, every
/// message event recorded once under its device-made id (a replay is a duplicate), and each
/// person's read marker per channel (it only rises).
pub const SCHEMA_V12: &[&str] = &[
    "CREATE TABLE channels (
        campaign_id TEXT NOT NULL REFERENCES campaigns(id), id TEXT NOT NULL, last_seq BIGINT NOT NULL,
        pinned TEXT, a TEXT, b TEXT, created_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, id))",
    "CREATE INDEX channels_a ON channels(campaign_id, a)",
    "CREATE INDEX channels_b ON channels(campaign_id, b)",
    "CREATE TABLE messages (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, channel_id TEXT NOT NULL, seq BIGINT NOT NULL,
        author_id TEXT NOT NULL, device_id TEXT NOT NULL, body TEXT NOT NULL, reference TEXT,
        written_ms BIGINT NOT NULL, received_ms BIGINT NOT NULL, UNIQUE (campaign_id, channel_id, seq))",
    "CREATE TABLE message_events (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, channel_id TEXT NOT NULL, author_id TEXT NOT NULL,
        device_id TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL, received_ms BIGINT NOT NULL)",
    "CREATE TABLE read_markers (
        campaign_id TEXT NOT NULL, channel_id TEXT NOT NULL, user_id TEXT NOT NULL, seq BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, channel_id, user_id))",
];

/// Version 13 (issue 18, the team's people): a volunteer's page (its settings as JSON, a photo
/// resized and re-encoded by the server, base64 JPEG), coopain links (one row per pair, `a < b`;
/// `asked_by` the side that asked, NULL once both said yes), the people events accepted from
/// phones (by their device-made id and body hash: a replay is a duplicate), and the time an
/// account was deleted by its owner (its row stays, emptied of personal data, for the ids the
/// campaign's results still carry).
pub const SCHEMA_V13: &[&str] = &[
    "ALTER TABLE users ADD COLUMN deleted_ms BIGINT",
    "CREATE TABLE profiles (
        user_id TEXT PRIMARY KEY REFERENCES users(id), settings TEXT NOT NULL, photo TEXT, photo_ms BIGINT,
        updated_ms BIGINT NOT NULL)",
    "CREATE TABLE coopains (
        campaign_id TEXT NOT NULL REFERENCES campaigns(id), a TEXT NOT NULL, b TEXT NOT NULL, asked_by TEXT,
        updated_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, a, b))",
    "CREATE INDEX coopains_b ON coopains(campaign_id, b)",
    "CREATE TABLE people_events (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, author_id TEXT NOT NULL, device_id TEXT NOT NULL,
        kind TEXT NOT NULL, body_hash TEXT NOT NULL, received_ms BIGINT NOT NULL)",
    "CREATE INDEX reports_volunteer ON reports(volunteer_id)",
];

/// Version 14 (issue 19, SMS): volunteers' phone numbers (E.164), each campaign's SMS settings
/// (how its texts are signed, its polling days, its segment budget), consents per number and
/// purpose with the text the person agreed to, the opt-out list (never undone by an import), the
/// outbox of texts (its id the idempotency key: a text is queued once, whatever the retries),
/// replies received (STOP among them), and every text the gate refused with its reasons.
pub const SCHEMA_V14: &[&str] = &[
    "ALTER TABLE user_contacts ADD COLUMN phone TEXT",
    "CREATE TABLE sms_settings (
        campaign_id TEXT PRIMARY KEY REFERENCES campaigns(id), sender_name TEXT NOT NULL,
        election_days TEXT NOT NULL, max_segments BIGINT NOT NULL, updated_ms BIGINT NOT NULL)",
    "CREATE TABLE sms_consents (
        campaign_id TEXT NOT NULL REFERENCES campaigns(id), number TEXT NOT NULL, purpose TEXT NOT NULL,
        consent_text TEXT NOT NULL, source TEXT NOT NULL, given_ms BIGINT NOT NULL,
        PRIMARY KEY (campaign_id, number, purpose))",
    "CREATE TABLE sms_optouts (
        campaign_id TEXT NOT NULL REFERENCES campaigns(id), number TEXT NOT NULL, source TEXT NOT NULL,
        at_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, number))",
    "CREATE TABLE sms_outbox (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), number TEXT NOT NULL,
        purpose TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL, segments BIGINT NOT NULL,
        encoding TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL, claimed_ms BIGINT,
        sent_ms BIGINT, provider TEXT, provider_id TEXT, attempts BIGINT NOT NULL, error TEXT)",
    "CREATE INDEX sms_outbox_state ON sms_outbox(state, created_ms)",
    "CREATE TABLE sms_inbound (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), number TEXT NOT NULL,
        body TEXT NOT NULL, received_ms BIGINT NOT NULL, state TEXT NOT NULL, stop BOOLEAN NOT NULL)",
    "CREATE INDEX sms_inbound_campaign ON sms_inbound(campaign_id, received_ms)",
    "CREATE TABLE sms_refusals (
        id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), number TEXT NOT NULL,
        purpose TEXT NOT NULL, codes TEXT NOT NULL, actor TEXT NOT NULL, at_ms BIGINT NOT NULL)",
];

/// Version 15 (issue 19, providers): each campaign's SMS provider (its kind, endpoint, account and
/// sender in clear; its secret sealed with the server's key, never stored in clear), delivery
/// receipts on the outbox (found by the provider's id; one that overtakes the send's own record
/// waits in `sms_early_receipts`), the provider a reply came through, and who
/// handled a reply in the team inbox; the follow-up texts voters asked for at the door (their
/// number kept here, apart from the report) and the campaign's words for them.
pub const SCHEMA_V15: &[&str] = &[
    "CREATE TABLE sms_providers (
        campaign_id TEXT PRIMARY KEY REFERENCES campaigns(id), kind TEXT NOT NULL, endpoint TEXT NOT NULL,
        account TEXT NOT NULL, sender TEXT NOT NULL, sealed_secret TEXT NOT NULL,
        price_millicents BIGINT NOT NULL, confirms_stop BOOLEAN NOT NULL, updated_ms BIGINT NOT NULL)",
    "CREATE INDEX sms_outbox_provider ON sms_outbox(provider, provider_id)",
    "CREATE TABLE sms_early_receipts (
        campaign_id TEXT NOT NULL, provider TEXT NOT NULL, provider_id TEXT NOT NULL, state TEXT NOT NULL,
        error TEXT, at_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, provider, provider_id))",
    "ALTER TABLE sms_outbox ADD COLUMN receipt_ms BIGINT",
    "ALTER TABLE sms_outbox ADD COLUMN cost_millicents BIGINT",
    "ALTER TABLE sms_inbound ADD COLUMN provider TEXT",
    "ALTER TABLE sms_inbound ADD COLUMN handled_by TEXT",
    "ALTER TABLE sms_settings ADD COLUMN follow_up_body TEXT",
    "CREATE TABLE sms_follow_ups (
        report_id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id), number TEXT NOT NULL,
        volunteer_id TEXT NOT NULL, asked_ms BIGINT NOT NULL, state TEXT NOT NULL, codes TEXT)",
    "CREATE INDEX sms_follow_ups_waiting ON sms_follow_ups(campaign_id, state)",
];

/// Version 16: the sender claims each campaign's pending texts and lists its outbox by campaign,
/// state and age; without this index every claim scanned every campaign's pending texts.
pub const SCHEMA_V16: &[&str] = &["CREATE INDEX sms_outbox_campaign ON sms_outbox(campaign_id, state, created_ms)"];

/// Version 17: what several server processes on one database share (issue 21): sign-in failures
/// (a lockout holds whichever process the next guess reaches), request buckets (PostgreSQL's
/// processes share them; the embedded server keeps its own in memory), and the fingerprint of the
/// key that seals providers' secrets (a process started with another key is refused).
pub const SCHEMA_V17: &[&str] = &[
    "CREATE TABLE signin_failures (key TEXT NOT NULL, at_ms BIGINT NOT NULL)",
    "CREATE INDEX signin_failures_key ON signin_failures(key, at_ms)",
    "CREATE INDEX signin_failures_at ON signin_failures(at_ms)",
    // PostgreSQL: unlogged (no write-ahead log, so taking a token never waits for a disk sync; a
    // crash empties the buckets, which only forgives a few requests).
    "/*sqlite*/ CREATE TABLE rate_buckets (key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at_ms BIGINT NOT NULL)",
    "/*postgres*/ CREATE UNLOGGED TABLE rate_buckets (key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL,
        at_ms BIGINT NOT NULL, granted BOOLEAN NOT NULL DEFAULT TRUE)",
    "CREATE INDEX rate_buckets_at ON rate_buckets(at_ms)",
    "CREATE TABLE server_key (id BIGINT PRIMARY KEY, fingerprint TEXT NOT NULL, created_ms BIGINT NOT NULL)",
];

/// Version 18 (issue 21): per door, the strongest standing report and the strongest standing report
/// of another device, kept by the ingest (`ops::standing`): a package carries one report per door
/// instead of the door's history. The rows are computed from the reports already held in the same
/// step ([`STANDING_VERSION`]).
pub const SCHEMA_V18: &[&str] = &[
    "CREATE TABLE door_standing (door_id TEXT NOT NULL, rank BIGINT NOT NULL, building_id TEXT NOT NULL,
       report_id TEXT NOT NULL, device_id TEXT NOT NULL, supersedes TEXT, outcome TEXT NOT NULL,
       PRIMARY KEY (door_id, rank))",
    // A turf's rows through its buildings, without visiting every door.
    "CREATE INDEX door_standing_building ON door_standing(building_id)",
];

/// Version 19 (issue 21): the coordinator's counters, kept by the ingest in the push's transaction
/// (`ops::counters`): per door its tally (status, contacted; untouched doors have no row), per
/// report its share of knocking time, per turf (`''`: no turf), per (turf, volunteer) and per
/// (turf, hour) the sums the progress view shows, and each volunteer's latest located report, so
/// that it reads rows per turf instead of every report.
pub const SCHEMA_V19: &[&str] = &[
    "CREATE TABLE door_tally (door_id TEXT PRIMARY KEY, building_id TEXT NOT NULL, status BIGINT NOT NULL,
       contacted BIGINT NOT NULL)",
    "CREATE INDEX door_tally_building ON door_tally(building_id)",
    "ALTER TABLE reports ADD COLUMN share_ms BIGINT",
    // A volunteer's knocks in knocking order: a new knock's neighbours, found in two lookups.
    "CREATE INDEX reports_volunteer_order ON reports(volunteer_id, at_ms, hlc_counter, id)",
    "CREATE TABLE turf_tally (campaign_id TEXT NOT NULL, turf_key TEXT NOT NULL, doors BIGINT NOT NULL,
       knocked BIGINT NOT NULL, contacted BIGINT NOT NULL, PRIMARY KEY (campaign_id, turf_key))",
    "CREATE TABLE volunteer_tally (campaign_id TEXT NOT NULL, turf_key TEXT NOT NULL, volunteer_id TEXT NOT NULL,
       knocks BIGINT NOT NULL, unreviewed BIGINT NOT NULL, time_ms BIGINT NOT NULL,
       PRIMARY KEY (campaign_id, turf_key, volunteer_id))",
    "CREATE TABLE hour_tally (campaign_id TEXT NOT NULL, turf_key TEXT NOT NULL, hour_ms BIGINT NOT NULL,
       knocks BIGINT NOT NULL, contacts BIGINT NOT NULL, PRIMARY KEY (campaign_id, turf_key, hour_ms))",
    "CREATE TABLE volunteer_position (volunteer_id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, at_ms BIGINT NOT NULL,
       hlc_counter BIGINT NOT NULL, report_id TEXT NOT NULL)",
    "CREATE INDEX volunteer_position_campaign ON volunteer_position(campaign_id)",
];

/// Version 20 (issue 21): the indexes on `reports(volunteer_id)` and `reports(volunteer_id, at_ms)`
/// dropped: both are prefixes of `reports_volunteer_order`, which serves their queries, and every
/// report written paid for them (two of the ten index entries of each row).
pub const SCHEMA_V20: &[&str] =
    &["DROP INDEX IF EXISTS reports_volunteer", "DROP INDEX IF EXISTS reports_volunteer_at"];

/// Version 21 (issue 21): the coordinator's map at low zoom, doors and their tallies per grid cell
/// (`ops::cells`), and buildings found by position (the map by viewport).
pub const SCHEMA_V21: &[&str] = &[
    "CREATE TABLE map_cells (campaign_id TEXT NOT NULL, level BIGINT NOT NULL, cell_row BIGINT NOT NULL,
       cell_col BIGINT NOT NULL, doors BIGINT NOT NULL, knocked BIGINT NOT NULL, contacted BIGINT NOT NULL,
       PRIMARY KEY (campaign_id, level, cell_row, cell_col))",
    "CREATE INDEX buildings_position ON buildings(campaign_id, lat, lon)",
];

/// Version 22 (issue 21): the results view's counts per (turf, polling station, result code or
/// answer), kept by the writes (`ops::results`), filled from the reports held in the same step
/// ([`STANDING_VERSION`]).
pub const SCHEMA_V22: &[&str] = &["CREATE TABLE result_tally (campaign_id TEXT NOT NULL, turf_key TEXT NOT NULL,
       station TEXT NOT NULL, kind TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, n BIGINT NOT NULL,
       PRIMARY KEY (campaign_id, turf_key, station, kind, question, answer))"];

/// Version 23 (issue 21): users found by team (a phone's people page lists its team's people at
/// every sync; without it each sync read every user of the campaign).
pub const SCHEMA_V23: &[&str] = &["CREATE INDEX users_team ON users(team_id)"];

/// Version 24 (issue 21): the coordinator's counters and the results view's counts per campaign
/// and per team, each spread over a few rows (`ops::groups`), filled from the turfs' rows in the same step ([`GROUPS_VERSION`]); a
/// team's turfs, a volunteer's counter rows and a user's devices found without reading the
/// campaign's (the progress of one team at a time).
pub const SCHEMA_V24: &[&str] = &[
    "CREATE TABLE group_tally (campaign_id TEXT NOT NULL, grp TEXT NOT NULL, part BIGINT NOT NULL,
       doors BIGINT NOT NULL, knocked BIGINT NOT NULL, contacted BIGINT NOT NULL, knocks BIGINT NOT NULL,
       unreviewed BIGINT NOT NULL, time_ms BIGINT NOT NULL, PRIMARY KEY (campaign_id, grp, part))",
    "CREATE TABLE group_hour_tally (campaign_id TEXT NOT NULL, grp TEXT NOT NULL, hour_ms BIGINT NOT NULL,
       part BIGINT NOT NULL, knocks BIGINT NOT NULL, contacts BIGINT NOT NULL,
       PRIMARY KEY (campaign_id, grp, hour_ms, part))",
    "CREATE TABLE group_result_tally (campaign_id TEXT NOT NULL, grp TEXT NOT NULL, kind TEXT NOT NULL,
       question TEXT NOT NULL, answer TEXT NOT NULL, part BIGINT NOT NULL, n BIGINT NOT NULL,
       PRIMARY KEY (campaign_id, grp, kind, question, answer, part))",
    // Each group's latest sync of a volunteer's phone, written at most once a minute.
    "CREATE TABLE group_seen (campaign_id TEXT NOT NULL, grp TEXT NOT NULL, last_seen_ms BIGINT NOT NULL,
       PRIMARY KEY (campaign_id, grp))",
    // The results of one polling station without reading the campaign's.
    "CREATE INDEX result_tally_station ON result_tally(campaign_id, station)",
    "CREATE INDEX turfs_team ON turfs(team_id)",
    "CREATE INDEX volunteer_tally_volunteer ON volunteer_tally(volunteer_id)",
    "CREATE INDEX devices_user ON devices(user_id)",
];

/// Version 25 (issue 21): a person's sign-ups and the teams a captain leads found without reading
/// every sign-up or every captain of the database (each phone sync reads them: its sessions, its
/// people page).
pub const SCHEMA_V25: &[&str] = &[
    "CREATE INDEX session_signups_volunteer ON session_signups(volunteer_id)",
    "CREATE INDEX team_captains_user ON team_captains(user_id)",
];

/// The schema version whose step also fills `door_standing` and the counters from the reports
/// held ([`super::ops::counters::rebuild_all`], in the step's transaction). It was 18 when only
/// `door_standing` was filled, 19 when the counters came; a database at 18, 19 or 20 has them
/// computed again, to the same rows, its map cells filled (version 21) and its results counted
/// (version 22).
pub const STANDING_VERSION: usize = 22;

/// The schema version whose step fills the groups' rows (`ops::groups`). A database below
/// [`STANDING_VERSION`] has every counter computed again at this step instead of at that one (the
/// groups' tables exist only from here).
pub const GROUPS_VERSION: usize = 24;

/// What a migration step computes from the rows held, for a database that was at `had`, after
/// the statements of `step` (its version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refill {
    /// Door pairs and tallies, shares, positions, cells, counters, results and groups.
    Everything,
    /// The groups, from the turfs' rows.
    Groups,
}

pub fn refill(had: usize, step: usize) -> Option<Refill> {
    match step {
        GROUPS_VERSION if had < STANDING_VERSION => Some(Refill::Everything),
        GROUPS_VERSION => Some(Refill::Groups),
        _ => None,
    }
}

/// Every schema version, in order; index + 1 is the version it brings the database to.
pub const MIGRATIONS: &[&[&str]] = &[
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8, SCHEMA_V9, SCHEMA_V10,
    SCHEMA_V11, SCHEMA_V12, SCHEMA_V13, SCHEMA_V14, SCHEMA_V15, SCHEMA_V16, SCHEMA_V17, SCHEMA_V18, SCHEMA_V19,
    SCHEMA_V20, SCHEMA_V21, SCHEMA_V22, SCHEMA_V23, SCHEMA_V24, SCHEMA_V25,
];

/// Whether a migration statement runs on this backend (`"sqlite"` or `"postgres"`).
pub fn runs_on(stmt: &str, backend: &str) -> bool {
    match stmt.trim_start().strip_prefix("/*").and_then(|r| r.split_once("*/")) {
        Some((only, _)) => only == backend,
        None => true,
    }
}

pub const SELECT_CAMPAIGN: &str =
    "SELECT id, name, mode, result_codes, survey, retention_until_ms FROM campaigns WHERE id = $1";

pub const INSERT_USER: &str =
    "INSERT INTO users(id, campaign_id, role, display_name, team_id) VALUES ($1, $2, $3, $4, $5)";

pub const SELECT_USER: &str = "SELECT id, campaign_id, role, display_name, team_id FROM users WHERE id = $1";

pub const INSERT_JOIN_CODE: &str = "INSERT INTO join_codes(code_hash, user_id, expires_ms) VALUES ($1, $2, $3)";

/// Consumes a code once: only an unused, unexpired code matches.
pub const USE_JOIN_CODE: &str =
    "UPDATE join_codes SET used_ms = $1 WHERE code_hash = $2 AND used_ms IS NULL AND expires_ms > $1 RETURNING user_id";

pub const INSERT_DEVICE: &str =
    "INSERT INTO devices(token_hash, device_id, user_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)";

/// Revokes one user's device (a device id is bound to the user that joined with it).
pub const REVOKE_DEVICE: &str =
    "UPDATE devices SET revoked_ms = $1 WHERE device_id = $2 AND user_id = $3 AND revoked_ms IS NULL";

/// The revoked device wiped itself: its tokens are dead.
pub const WIPED_DEVICE: &str = "UPDATE devices SET wiped_ms = $1 WHERE device_id = $2 AND user_id = $3 AND revoked_ms IS NOT NULL AND wiped_ms IS NULL";

pub const SELECT_TURFS_OF: &str = "SELECT id, campaign_id, name, version, volunteer_id, lease_expires_ms, team_id,
     checksum, checksum_version FROM turfs
     WHERE volunteer_id = $1 AND (lease_expires_ms IS NULL OR lease_expires_ms > $2) ORDER BY id";

pub const SELECT_TURF_BUILDINGS: &str = "SELECT id, street, house_number, postcode, city, polling_station, lat, lon
     FROM buildings WHERE turf_id = $1 ORDER BY id";

pub const SELECT_TURF_ENTRANCES: &str =
    "SELECT e.id, e.building_id, e.label, e.digicode, e.interphone, e.caretaker, e.notes
     FROM entrances e JOIN buildings b ON b.id = e.building_id WHERE b.turf_id = $1 ORDER BY e.id";

pub const SELECT_TURF_DOORS: &str = "SELECT d.id, d.building_id, d.entrance_id, d.floor, d.label, d.safety_flags
     FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = $1 ORDER BY d.id";

/// Where a building-level target sits now: its turf and that turf's volunteer.
pub const LOCATE_BUILDING: &str = "SELECT b.id, NULL, b.turf_id, t.volunteer_id FROM buildings b
     LEFT JOIN turfs t ON t.id = b.turf_id WHERE b.id = $1 AND b.campaign_id = $2";

pub const LOCATE_DOOR: &str =
    "SELECT b.id, d.id, b.turf_id, t.volunteer_id FROM doors d JOIN buildings b ON b.id = d.building_id
     LEFT JOIN turfs t ON t.id = b.turf_id WHERE d.id = $1 AND b.campaign_id = $2";

/// Reports already held (counted or set aside) with this id, as the merge needs them.
pub const SELECT_KNOWN: &str =
    "SELECT id, volunteer_id, campaign_id, building_id, door_id, person_id, body_hash FROM reports WHERE id = $1
     UNION ALL SELECT id, volunteer_id, campaign_id, building_id, door_id, person_id, body_hash FROM held_reports
     WHERE id = $1";

/// PostgreSQL only: [`SELECT_KNOWN`] for a whole batch.
pub const SELECT_KNOWN_ANY: &str =
    "SELECT id, volunteer_id, campaign_id, building_id, door_id, person_id, body_hash FROM reports WHERE id = ANY($1)
     UNION ALL SELECT id, volunteer_id, campaign_id, building_id, door_id, person_id, body_hash FROM held_reports
     WHERE id = ANY($1)";

pub const REPORT_EXISTS: &str = "SELECT 1 FROM reports WHERE id = $1";

pub const SELECT_REPORTS: &str =
    "SELECT body, overlap FROM reports WHERE campaign_id = $1 ORDER BY hlc_millis, hlc_counter, id";

/// PostgreSQL only: locate many targets in one query.
/// The `LOCATE_…_ANY` statements test the campaign as `b.campaign_id || ''` so that no plan can
/// walk the campaign's buildings for the batch's ids: a connection's cached generic plan, made
/// while the tables were small, did (9 ms a push of 500 at 590 buildings, linear in the campaign);
/// only the ids' primary keys find the rows.
pub const LOCATE_DOORS_ANY: &str =
    "SELECT d.id, b.id, b.turf_id, t.volunteer_id FROM doors d JOIN buildings b ON b.id = d.building_id
     LEFT JOIN turfs t ON t.id = b.turf_id WHERE d.id = ANY($1) AND b.campaign_id || '' = $2";

pub const LOCATE_BUILDINGS_ANY: &str = "SELECT b.id, b.turf_id, t.volunteer_id FROM buildings b
     LEFT JOIN turfs t ON t.id = b.turf_id WHERE b.id = ANY($1) AND b.campaign_id || '' = $2";

/// PostgreSQL only: a whole batch in one statement.
pub const INSERT_REPORTS_UNNEST: &str = "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id,
       result_code, supersedes, hlc_millis, hlc_counter, overlap, received_ms, body, person_id, lat, lon, body_hash, at_ms,
       share_ms)
     SELECT r.id, $2::text, r.turf_id, r.building_id, r.door_id, $6::text, $7::text, r.result_code, r.supersedes, r.hm, r.hc, r.ov,
            $13::bigint, r.body, r.person_id, r.lat, r.lon, r.bh, r.at, r.share
     FROM UNNEST($1::text[], $3::text[], $4::text[], $5::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[],
                 $12::boolean[], $14::text[], $15::text[], $16::float8[], $17::float8[], $18::text[], $19::bigint[],
                 $20::bigint[])
          AS r(id, turf_id, building_id, door_id, result_code, supersedes, hm, hc, ov, body, person_id, lat, lon, bh, at, share)
     ON CONFLICT (id) DO NOTHING RETURNING id";

// ----- version 2 ---------------------------------------------------------------------------------

pub const SELECT_TURF: &str = "SELECT id, campaign_id, name, version, volunteer_id, lease_expires_ms, team_id,
     checksum, checksum_version FROM turfs WHERE id = $1";

pub const SELECT_TEAM: &str = "SELECT id, campaign_id, name FROM teams WHERE id = $1";

/// Where a person-level target sits now: their door's building, the door, its turf and holder.
pub const LOCATE_PERSON: &str = "SELECT b.id, d.id, b.turf_id, t.volunteer_id FROM people p
     JOIN households h ON h.id = p.household_id JOIN doors d ON d.id = h.door_id
     JOIN buildings b ON b.id = d.building_id LEFT JOIN turfs t ON t.id = b.turf_id WHERE p.id = $1 AND b.campaign_id = $2";

/// PostgreSQL only: many people at once.
pub const LOCATE_PEOPLE_ANY: &str = "SELECT p.id, b.id, d.id, b.turf_id, t.volunteer_id FROM people p
     JOIN households h ON h.id = p.household_id JOIN doors d ON d.id = h.door_id
     JOIN buildings b ON b.id = d.building_id LEFT JOIN turfs t ON t.id = b.turf_id
     WHERE p.id = ANY($1) AND b.campaign_id || '' = $2";

/// Scope of a report: did its volunteer ever hold the turf it names, and was its building ever in it?
pub const HELD_EVER: &str = "SELECT 1 FROM turf_holders WHERE turf_id = $1 AND volunteer_id = $2";

/// The hand-offs from captains' phones recorded for a turf and a volunteer (`accepted` or `refused`).
pub const HANDOFF_STATUS: &str = "SELECT status FROM handoffs WHERE turf_id = $1 AND volunteer_id = $2";

pub const HANDOFF_STATUS_ANY: &str =
    "SELECT turf_id, status FROM handoffs WHERE volunteer_id = $1 AND turf_id = ANY($2)";

pub const WAS_IN_TURF: &str = "SELECT 1 FROM building_moves WHERE building_id = $1 AND from_turf = $2";

pub const HELD_EVER_ANY: &str = "SELECT turf_id FROM turf_holders WHERE volunteer_id = $1 AND turf_id = ANY($2)";

pub const WAS_IN_TURF_ANY: &str = "SELECT building_id, from_turf FROM building_moves WHERE building_id = ANY($1)";

pub const EXISTING_REPORTS_ANY: &str = "SELECT id FROM reports WHERE id = ANY($1)";

// ----- version 4 ---------------------------------------------------------------------------------

// ----- version 5 ---------------------------------------------------------------------------------

/// A device's latest sync only rises (a push received late, a clock stepped back, say nothing).
pub const TOUCH_DEVICE: &str =
    "UPDATE devices SET last_seen_ms = $1 WHERE device_id = $2 AND (last_seen_ms IS NULL OR last_seen_ms < $3)";

pub const SELECT_OVERLAP_REVIEWS: &str = "SELECT o.report_id FROM overlap_reviews o
     JOIN reports r ON r.id = o.report_id WHERE r.campaign_id = $1";

pub const INSERT_AUDIT: &str =
    "INSERT INTO audit_log(id, at_ms, campaign_id, actor, device_id, action, subject, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

// ----- retention --------------------------------------------------------------------------------

// ----- version 8: the merge, held reports, device binding -----------------------------------------

pub const SELECT_JOIN_CODE_USER: &str =
    "SELECT user_id FROM join_codes WHERE code_hash = $1 AND used_ms IS NULL AND expires_ms > $2";

pub const INSERT_REPORT: &str =
    "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code,
       supersedes, hlc_millis, hlc_counter, overlap, received_ms, body, person_id, lat, lon, body_hash, at_ms, share_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
     ON CONFLICT (id) DO NOTHING";
