//! A volunteer's own data (issue 18; GDPR articles 15, 17 and 20): everything the server holds
//! about them, gathered for their export, and the deletion of their account — personal rows
//! removed, the rest emptied, one audit line without personal data, all in one transaction.
//!
//! What stays after a deletion, and why: the reports they made (the campaign's results about
//! doors; they carry the account's id, behind which there is no longer a name), hand-offs and
//! audit lines (the campaign's accountability; ids and counts only), the account row itself
//! (emptied: "Compte supprimé", no team, no login) so those ids still point at something.

use serde_json::{Value, json};

use super::*;

/// What a deletion removed or emptied, counted (the audit line's detail).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErasureCounts {
    pub devices_revoked: u64,
    pub turfs_returned: u64,
    pub messages_emptied: u64,
    pub coopains_removed: u64,
    pub standings_removed: u64,
    pub rows_removed: u64,
    /// The turfs returned (for the live dashboards; not in the audit line).
    #[serde(skip)]
    pub turf_ids: Vec<String>,
}

/// The name an account is left with once deleted.
pub const DELETED_NAME: &str = "Compte supprimé";

fn rows_json(rows: &[Row], names: &[&str]) -> StoreResult<Vec<Value>> {
    rows.iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match r[i].opt_text() {
                    Ok(t) => json!(t),
                    Err(_) => match r[i].opt_int() {
                        Ok(x) => json!(x),
                        Err(_) => json!(r[i].float().ok()),
                    },
                };
                m.insert((*n).to_string(), v);
            }
            Ok(Value::Object(m))
        })
        .collect()
}

/// Everything held about a person, section by section. The reports are listed without their
/// answers and notes: those are about the people at the door, not about the volunteer.
pub async fn personal_data(tx: &mut dyn Tx, me: &User) -> StoreResult<Value> {
    let (uid, cid) = (me.id.as_str(), me.campaign_id.as_str());
    let email = tx.row(SELECT_EMAIL, &vals![uid]).await?.map(|r| r[0].opt_text()).transpose()?.flatten();
    let login = tx.row(SELECT_LOGIN, &vals![uid]).await?.map(|r| r[0].opt_text()).transpose()?.flatten();
    let (settings, _) = super::pages::profile(tx, uid).await?;
    let photo = super::pages::photo(tx, uid).await?;
    let mut sections = serde_json::Map::new();
    sections.insert(
        "account".into(),
        json!({ "user_id": uid, "campaign_id": cid, "role": me.role.as_str(), "name": me.display_name,
                "team_id": me.team_id, "email": email, "dashboard_login": login }),
    );
    sections.insert("page".into(), json!({ "settings": settings, "photo_jpeg_base64": photo }));
    let queries: &[(&str, &str, &[&str])] = &[
        ("teams", SELECT_MY_TEAMS, &["team_id", "name", "as"]),
        ("sessions", SELECT_MY_STANDINGS, &["session_id", "state", "updated_ms"]),
        (
            "reports",
            SELECT_MY_REPORTS,
            &["id", "turf_id", "building_id", "door_id", "result_code", "device_time_ms", "received_ms", "device_id"],
        ),
        ("messages", SELECT_MY_MESSAGES, &["id", "channel_id", "seq", "body", "written_ms", "received_ms"]),
        ("read_markers", SELECT_MY_MARKERS, &["channel_id", "seq", "updated_ms"]),
        ("coopains", SELECT_MY_LINKS, &["a", "b", "asked_by", "updated_ms"]),
        ("devices", SELECT_MY_DEVICES, &["device_id", "created_ms", "expires_ms", "revoked_ms"]),
        ("handoffs", SELECT_MY_HANDOFFS, &["id", "session_id", "turf_id", "street", "status", "issued_ms"]),
        ("audit", SELECT_MY_AUDIT, &["at_ms", "actor", "device_id", "action", "subject"]),
    ];
    for (name, sql, cols) in queries {
        let rows = tx.rows(sql, &vals![uid, cid]).await?;
        sections.insert((*name).to_string(), Value::Array(rows_json(&rows, cols)?));
    }
    Ok(Value::Object(sections))
}

/// Deletes a person's account: their turfs go back to their team, their devices are revoked
/// (each wipes itself at its next sync, after pushing what it holds), their page, photo,
/// contact, coopains, standings, read markers and events are removed, their messages emptied
/// (others see "message supprimé" in their place), the account row emptied. The audit line
/// `account.delete` holds the account's id and the counts, nothing else.
pub async fn erase(tx: &mut dyn Tx, me: &User, now_ms: i64, audit_id: &str) -> StoreResult<ErasureCounts> {
    let (uid, cid) = (me.id.as_str(), me.campaign_id.as_str());
    let mut n = ErasureCounts::default();
    let held: Vec<String> =
        tx.rows(SELECT_HELD_TURFS, &vals![uid]).await?.iter().map(|r| r[0].text()).collect::<StoreResult<_>>()?;
    for t in &held {
        super::turfs::assign_turf(tx, t, None, None).await?;
    }
    n.turfs_returned = held.len() as u64;
    n.turf_ids = held;
    n.devices_revoked = tx.exec(REVOKE_ALL, &vals![now_ms, uid]).await?;
    n.messages_emptied = tx.exec(EMPTY_MESSAGES, &vals![uid, cid]).await?;
    n.coopains_removed = tx.exec(DELETE_LINKS, &vals![cid, uid]).await?;
    n.standings_removed = tx.exec(DELETE_STANDINGS, &vals![uid]).await?;
    for sql in [
        DELETE_SIGNUP_EVENTS,
        DELETE_REMINDERS,
        DELETE_CONTACT,
        DELETE_PROFILE,
        DELETE_MARKERS,
        DELETE_MESSAGE_EVENTS,
        DELETE_PEOPLE_EVENTS,
        DELETE_JOIN_CODES,
    ] {
        n.rows_removed += tx.exec(sql, &vals![uid]).await?;
    }
    tx.exec(EMPTY_ACCOUNT, &vals![DELETED_NAME, now_ms, uid]).await?;
    let detail = serde_json::to_string(&n).expect("counts serialise");
    tx.exec(INSERT_AUDIT, &vals![audit_id, now_ms, cid, uid, Val::Null, "account.delete", uid, detail]).await?;
    Ok(n)
}

const SELECT_EMAIL: &str = "SELECT email FROM user_contacts WHERE user_id = $1";
const SELECT_LOGIN: &str = "SELECT login FROM users WHERE id = $1";
const SELECT_MY_TEAMS: &str = "SELECT t.id, t.name, 'member' FROM teams t JOIN users u ON u.team_id = t.id
     WHERE u.id = $1 AND t.campaign_id = $2
     UNION ALL SELECT t.id, t.name, 'captain' FROM teams t JOIN team_captains c ON c.team_id = t.id
     WHERE c.user_id = $1 AND t.campaign_id = $2";
const SELECT_MY_STANDINGS: &str = "SELECT s.session_id, s.state, s.updated_ms FROM session_signups s
     JOIN canvass_sessions c ON c.id = s.session_id WHERE s.volunteer_id = $1 AND c.campaign_id = $2 ORDER BY s.updated_ms";
const SELECT_MY_REPORTS: &str =
    "SELECT id, turf_id, building_id, door_id, result_code, hlc_millis, received_ms, device_id
     FROM reports WHERE volunteer_id = $1 AND campaign_id = $2 ORDER BY received_ms, id";
const SELECT_MY_MESSAGES: &str = "SELECT id, channel_id, seq, body, written_ms, received_ms FROM messages
     WHERE author_id = $1 AND campaign_id = $2 ORDER BY received_ms, id";
const SELECT_MY_MARKERS: &str =
    "SELECT channel_id, seq, updated_ms FROM read_markers WHERE user_id = $1 AND campaign_id = $2 ORDER BY channel_id";
const SELECT_MY_LINKS: &str =
    "SELECT a, b, asked_by, updated_ms FROM coopains WHERE (a = $1 OR b = $1) AND campaign_id = $2 ORDER BY a, b";
const SELECT_MY_DEVICES: &str = "SELECT d.device_id, d.created_ms, d.expires_ms, d.revoked_ms FROM devices d
     JOIN users u ON u.id = d.user_id WHERE d.user_id = $1 AND u.campaign_id = $2 ORDER BY d.created_ms";
const SELECT_MY_HANDOFFS: &str = "SELECT id, session_id, turf_id, street, status, issued_ms FROM handoffs
     WHERE (volunteer_id = $1 OR captain_id = $1) AND campaign_id = $2 ORDER BY issued_ms, id";
const SELECT_MY_AUDIT: &str = "SELECT at_ms, actor, device_id, action, subject FROM audit_log
     WHERE (actor = $1 OR subject = $1) AND campaign_id = $2 ORDER BY at_ms, id";
const SELECT_HELD_TURFS: &str = "SELECT id FROM turfs WHERE volunteer_id = $1 ORDER BY id";
const REVOKE_ALL: &str = "UPDATE devices SET revoked_ms = $1 WHERE user_id = $2 AND revoked_ms IS NULL";
const EMPTY_MESSAGES: &str =
    "UPDATE messages SET body = '', reference = NULL WHERE author_id = $1 AND campaign_id = $2 AND body <> ''";
const DELETE_LINKS: &str = "DELETE FROM coopains WHERE campaign_id = $1 AND (a = $2 OR b = $2)";
const DELETE_STANDINGS: &str = "DELETE FROM session_signups WHERE volunteer_id = $1";
const DELETE_SIGNUP_EVENTS: &str = "DELETE FROM signup_events WHERE volunteer_id = $1";
const DELETE_REMINDERS: &str = "DELETE FROM reminders WHERE person = $1";
const DELETE_CONTACT: &str = "DELETE FROM user_contacts WHERE user_id = $1";
const DELETE_PROFILE: &str = "DELETE FROM profiles WHERE user_id = $1";
const DELETE_MARKERS: &str = "DELETE FROM read_markers WHERE user_id = $1";
const DELETE_MESSAGE_EVENTS: &str = "DELETE FROM message_events WHERE author_id = $1";
const DELETE_PEOPLE_EVENTS: &str = "DELETE FROM people_events WHERE author_id = $1";
const DELETE_JOIN_CODES: &str = "DELETE FROM join_codes WHERE user_id = $1";
const EMPTY_ACCOUNT: &str = "UPDATE users SET display_name = $1, team_id = NULL, login = NULL, password_hash = NULL,
     deleted_ms = $2 WHERE id = $3";
