//! SQL shared by both backends. Placeholders are `$1, $2, …` in order of first use: PostgreSQL's
//! own syntax, and in SQLite named parameters that rusqlite binds by position in that same order.
//! Types are the common subset (TEXT, BIGINT, DOUBLE PRECISION, BOOLEAN as 0/1 in SQLite).

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
    "CREATE INDEX buildings_turf ON buildings(turf_id)",
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

pub const INSERT_CAMPAIGN: &str =
    "INSERT INTO campaigns(id, name, mode, result_codes, survey, retention_until_ms, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
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
pub const SELECT_DEVICE: &str = "SELECT d.device_id, d.user_id, u.campaign_id, d.expires_ms, d.revoked_ms
     FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = $1";
pub const REVOKE_DEVICE: &str = "UPDATE devices SET revoked_ms = $1 WHERE device_id = $2 AND revoked_ms IS NULL";
pub const INSERT_BUILDING: &str =
    "INSERT INTO buildings(id, campaign_id, turf_id, street, house_number, postcode, city, polling_station, lat, lon)
     VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9)";
pub const INSERT_ENTRANCE: &str =
    "INSERT INTO entrances(id, building_id, label, digicode, interphone, caretaker, notes)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const INSERT_DOOR: &str =
    "INSERT INTO doors(id, building_id, entrance_id, floor, label, safety_flags) VALUES ($1, $2, $3, $4, $5, $6)";
pub const INSERT_TURF: &str = "INSERT INTO turfs(id, campaign_id, name, version, volunteer_id, lease_expires_ms)
     VALUES ($1, $2, $3, 1, NULL, NULL)";
pub const SET_BUILDING_TURF: &str = "UPDATE buildings SET turf_id = $1 WHERE id = $2 AND campaign_id = $3";
pub const SELECT_BUILDING_TURF: &str = "SELECT turf_id FROM buildings WHERE id = $1";
pub const ASSIGN_TURF: &str =
    "UPDATE turfs SET volunteer_id = $1, lease_expires_ms = $2, version = version + 1 WHERE id = $3";
pub const BUMP_TURF: &str = "UPDATE turfs SET version = version + 1 WHERE id = $1";
pub const SELECT_TURF: &str =
    "SELECT id, campaign_id, name, version, volunteer_id, lease_expires_ms FROM turfs WHERE id = $1";
pub const SELECT_TURFS_OF: &str = "SELECT id, campaign_id, name, version, volunteer_id, lease_expires_ms FROM turfs
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
pub const INSERT_REPORT: &str =
    "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code,
       supersedes, hlc_millis, hlc_counter, overlap, received_ms, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING";
pub const SELECT_REPORTS: &str =
    "SELECT body, overlap FROM reports WHERE campaign_id = $1 ORDER BY hlc_millis, hlc_counter, id";

/// PostgreSQL only: locate many targets in one query.
pub const LOCATE_DOORS_ANY: &str =
    "SELECT d.id, b.id, b.turf_id, t.volunteer_id FROM doors d JOIN buildings b ON b.id = d.building_id
     LEFT JOIN turfs t ON t.id = b.turf_id WHERE d.id = ANY($1) AND b.campaign_id = $2";
pub const LOCATE_BUILDINGS_ANY: &str = "SELECT b.id, b.turf_id, t.volunteer_id FROM buildings b
     LEFT JOIN turfs t ON t.id = b.turf_id WHERE b.id = ANY($1) AND b.campaign_id = $2";
/// PostgreSQL only: a whole batch in one statement.
pub const INSERT_REPORTS_UNNEST: &str = "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id,
       result_code, supersedes, hlc_millis, hlc_counter, overlap, received_ms, body)
     SELECT r.id, $2::text, r.turf_id, r.building_id, r.door_id, $6::text, $7::text, r.result_code, r.supersedes, r.hm, r.hc, r.ov,
            $13::bigint, r.body
     FROM UNNEST($1::text[], $3::text[], $4::text[], $5::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[],
                 $12::boolean[], $14::text[])
          AS r(id, turf_id, building_id, door_id, result_code, supersedes, hm, hc, ov, body)
     ON CONFLICT (id) DO NOTHING RETURNING id";
