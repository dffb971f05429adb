//! People: logins, volunteers, teams and captains, devices and their tokens, the audit log.

use super::*;
use crate::store::tx::Tx;
use crate::vals;

/// Gives a staff member a login and password hash; a login held by someone else is a conflict.
pub async fn set_login(tx: &mut dyn Tx, user_id: &str, login: &str, password_hash: &str) -> StoreResult<()> {
    if let Some(r) = tx.row(SELECT_LOGIN_OWNER, &vals![login]).await?
        && r[0].text()? != user_id
    {
        return Err(StoreError::Conflict(format!("login {login}")));
    }
    if tx.exec(SET_LOGIN, &vals![login, password_hash, user_id]).await? == 0 {
        return Err(StoreError::Missing { kind: "user", id: user_id.to_string() });
    }
    Ok(())
}

/// The user behind a login, with their password hash.
pub async fn user_by_login(tx: &mut dyn Tx, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
    match tx.row(SELECT_BY_LOGIN, &vals![login]).await? {
        Some(r) => Ok(Some((user_from(&r)?, r[5].opt_text()?))),
        None => Ok(None),
    }
}

pub async fn devices(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<DeviceRow>> {
    tx.rows(SELECT_CAMPAIGN_DEVICES, &vals![campaign_id]).await?.iter().map(|r| device_row_from(r)).collect()
}

/// A row of `device_id, user_id, created_ms, expires_ms, revoked_ms, last_seen_ms`.
pub(crate) fn device_row_from(r: &[Val]) -> StoreResult<DeviceRow> {
    Ok(DeviceRow {
        device_id: r[0].text()?,
        user_id: r[1].text()?,
        created_ms: r[2].int()?,
        expires_ms: r[3].int()?,
        revoked_ms: r[4].opt_int()?,
        last_seen_ms: r[5].opt_int()?,
    })
}

pub async fn audit_log(tx: &mut dyn Tx, campaign_id: &str, before_ms: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    tx.rows(SELECT_AUDIT, &vals![campaign_id, before_ms, limit])
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r[0].text()?,
                at_ms: r[1].int()?,
                campaign_id: campaign_id.to_string(),
                actor: r[2].text()?,
                device_id: r[3].opt_text()?,
                action: r[4].text()?,
                subject: r[5].opt_text()?,
                detail: parse("audit detail", &r[6].text()?)?,
            })
        })
        .collect()
}

pub async fn users(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<User>> {
    tx.rows(SELECT_USERS, &vals![campaign_id]).await?.iter().map(user_from).collect()
}

pub async fn create_team(tx: &mut dyn Tx, team: &Team) -> StoreResult<()> {
    if tx.row(SELECT_TEAM, &vals![&team.id]).await?.is_some() {
        return Err(StoreError::Conflict(format!("team {}", team.id)));
    }
    tx.exec(INSERT_TEAM, &vals![&team.id, &team.campaign_id, &team.name]).await?;
    super::groups::added(tx, &team.campaign_id, &team.id).await?;
    for c in &team.captains {
        add_member(tx, &team.campaign_id, &team.id, c).await?;
    }
    Ok(())
}

/// Adds a user to a team: a captain leads it (a captain may lead several teams), a volunteer
/// belongs to it (one team at a time).
pub async fn add_member(tx: &mut dyn Tx, campaign_id: &str, team_id: &str, user_id: &str) -> StoreResult<Role> {
    team_in(tx, campaign_id, team_id).await?;
    let u = user_in(tx, campaign_id, user_id).await?;
    match u.role {
        Role::Captain => {
            tx.exec(INSERT_CAPTAIN, &vals![team_id, user_id]).await?;
        }
        Role::Volunteer => {
            tx.exec(SET_USER_TEAM, &vals![team_id, user_id]).await?;
        }
        Role::Coordinator => {
            return Err(StoreError::Conflict(format!("{user_id} is a coordinator, not a team member")));
        }
    }
    Ok(u.role)
}

pub async fn teams(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<Team>> {
    let rows = tx.rows(SELECT_TEAMS, &vals![campaign_id]).await?;
    // Every team's captains in one read (a national campaign has hundreds of teams: one read each
    // was 48 ms of its coordinator's progress on PostgreSQL).
    let mut captains: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for c in tx.rows(SELECT_CAMPAIGN_CAPTAINS, &vals![campaign_id]).await? {
        captains.entry(c[0].text()?).or_default().push(c[1].text()?);
    }
    rows.iter()
        .map(|r| {
            let id = r[0].text()?;
            let captains = captains.remove(&id).unwrap_or_default();
            Ok(Team { id, campaign_id: r[1].text()?, name: r[2].text()?, captains })
        })
        .collect()
}

pub async fn captain_teams(tx: &mut dyn Tx, user_id: &str) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_CAPTAIN_TEAMS, &vals![user_id]).await?.iter().map(|r| r[0].text()).collect()
}

pub async fn device(tx: &mut dyn Tx, token_hash: &str) -> StoreResult<Option<Device>> {
    Ok(device_with_user(tx, token_hash).await?.map(|(d, _)| d))
}

/// [`device`] with its user, in one query: what every authenticated request reads (the
/// handlers that need the caller's name, team or role take it from here, not from a read of
/// their own).
pub async fn device_with_user(tx: &mut dyn Tx, token_hash: &str) -> StoreResult<Option<(Device, User)>> {
    let Some(r) = tx.row(SELECT_DEVICE_USER, &vals![token_hash]).await? else { return Ok(None) };
    let user = super::user_from(&r)?;
    let device = Device {
        device_id: r[5].text()?,
        user_id: user.id.clone(),
        campaign_id: user.campaign_id.clone(),
        expires_ms: r[6].int()?,
        revoked_ms: r[7].opt_int()?,
        wiped_ms: r[8].opt_int()?,
    };
    Ok(Some((device, user)))
}

/// Another user holding a token under this device id, if any.
pub async fn device_other_user(tx: &mut dyn Tx, device_id: &str, user_id: &str) -> StoreResult<Option<String>> {
    tx.row(SELECT_DEVICE_OTHER_USERS, &vals![device_id, user_id]).await?.map(|r| r[0].text()).transpose()
}

pub async fn device_owner(tx: &mut dyn Tx, device_id: &str) -> StoreResult<Option<String>> {
    tx.row(SELECT_DEVICE_OWNER, &vals![device_id]).await?.map(|r| r[0].text()).transpose()
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

/// The user's columns first, in `SELECT_USER`'s order (read by `user_from`), then the token's.
const SELECT_DEVICE_USER: &str =
    "SELECT u.id, u.campaign_id, u.role, u.display_name, u.team_id, d.device_id, d.expires_ms, d.revoked_ms, d.wiped_ms
     FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = $1";

const SELECT_USERS: &str = "SELECT id, campaign_id, role, display_name, team_id FROM users WHERE campaign_id = $1 AND deleted_ms IS NULL ORDER BY id";

const SET_USER_TEAM: &str = "UPDATE users SET team_id = $1 WHERE id = $2";

const INSERT_TEAM: &str = "INSERT INTO teams(id, campaign_id, name) VALUES ($1, $2, $3)";

const SELECT_TEAMS: &str = "SELECT id, campaign_id, name FROM teams WHERE campaign_id = $1 ORDER BY id";

const INSERT_CAPTAIN: &str =
    "INSERT INTO team_captains(team_id, user_id) VALUES ($1, $2) ON CONFLICT (team_id, user_id) DO NOTHING";

const SELECT_CAMPAIGN_CAPTAINS: &str =
    "SELECT c.team_id, c.user_id FROM team_captains c JOIN teams t ON t.id = c.team_id
     WHERE t.campaign_id = $1 ORDER BY c.team_id, c.user_id";

const SELECT_CAPTAIN_TEAMS: &str = "SELECT team_id FROM team_captains WHERE user_id = $1 ORDER BY team_id";

const SELECT_DEVICE_OWNER: &str = "SELECT user_id FROM devices WHERE device_id = $1 LIMIT 1";

const SET_LOGIN: &str = "UPDATE users SET login = $1, password_hash = $2 WHERE id = $3";

const SELECT_LOGIN_OWNER: &str = "SELECT id FROM users WHERE login = $1";

const SELECT_BY_LOGIN: &str =
    "SELECT id, campaign_id, role, display_name, team_id, password_hash FROM users WHERE login = $1";

const SELECT_CAMPAIGN_DEVICES: &str = "SELECT d.device_id, d.user_id, d.created_ms, d.expires_ms, d.revoked_ms,
     d.last_seen_ms FROM devices d JOIN users u ON u.id = d.user_id
     WHERE u.campaign_id = $1 AND u.role = 'volunteer' ORDER BY d.user_id, d.created_ms";

const SELECT_AUDIT: &str = "SELECT id, at_ms, actor, device_id, action, subject, detail FROM audit_log
     WHERE campaign_id = $1 AND at_ms < $2 ORDER BY at_ms DESC, id DESC LIMIT $3";

/// Users other than `$2` with a token under device id `$1`.
const SELECT_DEVICE_OTHER_USERS: &str = "SELECT user_id FROM devices WHERE device_id = $1 AND user_id <> $2 LIMIT 1";
