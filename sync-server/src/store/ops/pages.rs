//! The team's people (issue 18): the facts a volunteer's page is made of (counted from the reports
//! and standings, never typed), who a viewer is to a person, coopain links, and the people events
//! phones push — decided by `validate::people::people_outcome` and recorded in one transaction.

use doorstep_protocol::validate::people::{
    PageFacts, PeopleFacts, PeopleOutcome, Relation, event_hash, page, people_outcome,
};
use doorstep_protocol::{
    CoopainState, Outcome, PeopleAction, PeopleEvent, ProfileSettings, PushItemResult, VolunteerPage,
};

use super::*;

/// How far back the activity line looks.
pub const ACTIVITY_WINDOW_MS: i64 = 7 * 86_400_000;
/// Most streets on an activity line.
const ACTIVITY_STREETS: usize = 5;

/// A person of the campaign whose account was not deleted.
pub async fn live_user(tx: &mut dyn Tx, campaign_id: &str, id: &str) -> StoreResult<Option<User>> {
    tx.row(SELECT_LIVE_USER, &vals![id, campaign_id]).await?.as_ref().map(user_from).transpose()
}

/// A page's settings and whether it has a photo.
pub async fn profile(tx: &mut dyn Tx, user_id: &str) -> StoreResult<(ProfileSettings, bool)> {
    match tx.row(SELECT_PROFILE, &vals![user_id]).await? {
        Some(r) => Ok((parse("profile settings", &r[0].text()?)?, r[1].opt_int()?.is_some())),
        None => Ok((ProfileSettings::default(), false)),
    }
}

/// The photo (base64 JPEG), if any.
pub async fn photo(tx: &mut dyn Tx, user_id: &str) -> StoreResult<Option<String>> {
    Ok(tx.row(SELECT_PHOTO, &vals![user_id]).await?.map(|r| r[0].opt_text()).transpose()?.flatten())
}

pub async fn set_photo(tx: &mut dyn Tx, user_id: &str, jpeg_b64: Option<&str>, now_ms: i64) -> StoreResult<()> {
    let settings = json(&ProfileSettings::default());
    let at = jpeg_b64.map(|_| now_ms);
    tx.exec(UPSERT_PHOTO, &vals![user_id, settings, jpeg_b64, at, now_ms]).await?;
    Ok(())
}

/// The link between two people, seen from `me`.
pub async fn link(tx: &mut dyn Tx, campaign_id: &str, me: &str, other: &str) -> StoreResult<Option<CoopainState>> {
    let (a, b) = if me < other { (me, other) } else { (other, me) };
    let Some(r) = tx.row(SELECT_LINK, &vals![campaign_id, a, b]).await? else { return Ok(None) };
    Ok(Some(match r[0].opt_text()? {
        None => CoopainState::Linked,
        Some(by) if by == me => CoopainState::AskedByMe,
        Some(_) => CoopainState::AskedByThem,
    }))
}

/// Every link of a person: (the other, where it stands seen from the person).
pub async fn links(tx: &mut dyn Tx, campaign_id: &str, me: &str) -> StoreResult<Vec<(String, CoopainState)>> {
    let rows = tx.rows(SELECT_LINKS_OF, &vals![campaign_id, me]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (a, b, by) = (r[0].text()?, r[1].text()?, r[2].opt_text()?);
        let other = if a == me { b } else { a };
        let state = match by {
            None => CoopainState::Linked,
            Some(by) if by == me => CoopainState::AskedByMe,
            Some(_) => CoopainState::AskedByThem,
        };
        out.push((other, state));
    }
    Ok(out)
}

async fn leads(tx: &mut dyn Tx, team_id: &str, user_id: &str) -> StoreResult<bool> {
    Ok(tx.row(SELECT_LEADS_TEAM, &vals![team_id, user_id]).await?.is_some())
}

/// Who `viewer` is to `person` (both of one campaign), and where their link stands.
pub async fn relation(tx: &mut dyn Tx, viewer: &User, person: &User) -> StoreResult<(Relation, Option<CoopainState>)> {
    let link =
        if viewer.id == person.id { None } else { link(tx, &viewer.campaign_id, &viewer.id, &person.id).await? };
    // Only the two leads that can matter are read: the viewer's of the person's team, the
    // person's of the viewer's.
    let mut led = HashSet::new();
    for (captain, team) in [(viewer, &person.team_id), (person, &viewer.team_id)] {
        if let Some(t) = team
            && captain.role == Role::Captain
            && leads(tx, t, &captain.id).await?
        {
            led.insert((t.clone(), captain.id.clone()));
        }
    }
    Ok((relation_of(viewer, person, link, &led), link))
}

/// Who `viewer` is to `person`, from their link and the teams they lead (`led`: (team, captain)
/// pairs; those of the two people are enough).
pub fn relation_of(
    viewer: &User,
    person: &User,
    link: Option<CoopainState>,
    led: &HashSet<(String, String)>,
) -> Relation {
    let leads = |t: &String, u: &User| u.role == Role::Captain && led.contains(&(t.clone(), u.id.clone()));
    let team = match (&viewer.team_id, &person.team_id) {
        (Some(a), Some(b)) if a == b => true,
        (_, Some(t)) if leads(t, viewer) => true,
        (Some(t), _) => leads(t, person),
        _ => false,
    };
    Relation {
        me: viewer.id == person.id,
        coordinator: viewer.role == Role::Coordinator,
        team,
        coopain: link == Some(CoopainState::Linked),
    }
}

/// A set of ids as one parameter (a JSON array) and the test of a column against it: `{ids}` in
/// `sql` becomes a test against that array as each backend reads one. The statement's text is the
/// same for every set, so its plan is kept (PostgreSQL) or its preparation cached (SQLite). On
/// PostgreSQL the set is made an array first: `= ANY` of it is looked up in the column's index by
/// a kept plan, where `IN (SELECT …)` of the same function was planned as a scan of the table.
fn with_ids(tx: &dyn Tx, sql: &str, ids: &[&str]) -> StoreResult<(String, Val)> {
    let set = if tx.arrays() {
        "= ANY(ARRAY(SELECT json_array_elements_text($1::text::json)))"
    } else {
        "IN (SELECT value FROM json_each($1))"
    };
    let json = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((sql.replace("{ids}", set), Val::Text(json)))
}

/// Rows of a statement over a set of ids (`$1`, see [`with_ids`]) and more parameters (`$2`…).
async fn rows_for(tx: &mut dyn Tx, sql: &str, ids: &[&str], more: &[Val]) -> StoreResult<Vec<Row>> {
    let (sql, set) = with_ids(tx, sql, ids)?;
    let params: Vec<Val> = std::iter::once(set).chain(more.iter().cloned()).collect();
    tx.rows(&sql, &params).await
}

/// The pages of some people of one campaign as `viewer` sees them, in a fixed number of
/// statements whatever their number (a phone's people view reads its whole team at each sync):
/// the people, their profiles, teams, check-ins, knocks and turfs, the captains among them, each
/// read once for all. A person not in the campaign (or deleted) has no page.
pub async fn pages_for(
    tx: &mut dyn Tx,
    viewer: &User,
    ids: &[&str],
    links: &HashMap<String, CoopainState>,
    now_ms: i64,
) -> StoreResult<HashMap<String, VolunteerPage>> {
    let campaign = viewer.campaign_id.as_str();
    let people: Vec<User> = rows_for(tx, SELECT_LIVE_USERS, ids, &vals![campaign])
        .await?
        .iter()
        .map(user_from)
        .collect::<StoreResult<_>>()?;
    if people.is_empty() {
        return Ok(HashMap::new());
    }
    // The viewer's leads count for the relation even when the viewer is not among the pages.
    let mut asked: Vec<&str> = people.iter().map(|p| p.id.as_str()).collect();
    asked.push(viewer.id.as_str());
    let led: HashSet<(String, String)> = rows_for(tx, SELECT_CAPTAINS_OF, &asked, &[])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?)))
        .collect::<StoreResult<_>>()?;
    let found: Vec<&str> = people.iter().map(|p| p.id.as_str()).collect();
    let mut facts = pages_facts(tx, campaign, &people, &found, now_ms).await?;
    let mut out = HashMap::with_capacity(people.len());
    for person in &people {
        let link = if person.id == viewer.id { None } else { links.get(&person.id).copied() };
        let r = relation_of(viewer, person, link, &led);
        if let Some(f) = facts.remove(&person.id) {
            out.insert(person.id.clone(), page(&f, &r, link));
        }
    }
    Ok(out)
}

/// What each page is made of: teams, sessions checked in to, doors knocked and conversations
/// (from the reports: a door counts once, a conversation if any of its reports was one), the
/// streets knocked in the last week, the turfs held.
async fn pages_facts(
    tx: &mut dyn Tx,
    campaign: &str,
    people: &[User],
    ids: &[&str],
    now_ms: i64,
) -> StoreResult<HashMap<String, PageFacts>> {
    let mut profiles: HashMap<String, (ProfileSettings, bool)> = HashMap::new();
    for r in rows_for(tx, SELECT_PROFILES, ids, &[]).await? {
        profiles.insert(r[0].text()?, (parse("profile settings", &r[1].text()?)?, r[2].opt_int()?.is_some()));
    }
    let mut teams: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in rows_for(tx, SELECT_TEAM_NAMES_OF, ids, &[]).await? {
        teams.entry(r[0].text()?).or_default().push((r[2].text()?, r[1].text()?));
    }
    let mut checked_in: HashMap<String, i64> = HashMap::new();
    for r in rows_for(tx, COUNT_CHECKED_IN_OF, ids, &[]).await? {
        checked_in.insert(r[0].text()?, r[1].int()?);
    }
    let codes: HashMap<String, Outcome> = match tx.row(SELECT_CAMPAIGN_CODES, &vals![campaign]).await? {
        Some(r) => parse::<Vec<doorstep_protocol::ResultCode>>("result codes", &r[0].text()?)?
            .into_iter()
            .map(|c| (c.code, c.outcome))
            .collect(),
        None => HashMap::new(),
    };
    // Per person: door → a conversation; street → (doors lately, the latest knock).
    type Knocks = (HashMap<String, bool>, HashMap<String, (HashSet<String>, i64)>);
    let mut knocks: HashMap<String, Knocks> = HashMap::new();
    let since = now_ms - ACTIVITY_WINDOW_MS;
    for r in rows_for(tx, SELECT_KNOCKS_OF_ALL, ids, &vals![campaign]).await? {
        let (who, door, code, received, street) = (r[0].text()?, r[1].text()?, r[2].text()?, r[3].int()?, r[4].text()?);
        let (doors, lately) = knocks.entry(who).or_default();
        *doors.entry(door.clone()).or_default() |= codes.get(&code) == Some(&Outcome::Contacted);
        if received >= since {
            let e = lately.entry(street).or_insert_with(|| (HashSet::new(), received));
            e.0.insert(door);
            e.1 = e.1.max(received);
        }
    }
    let mut turfs: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows_for(tx, SELECT_HELD_TURF_NAMES_OF, ids, &vals![now_ms]).await? {
        turfs.entry(r[0].text()?).or_default().push(r[1].text()?);
    }
    let mut out = HashMap::with_capacity(people.len());
    for person in people {
        let (settings, has_photo) = profiles.remove(&person.id).unwrap_or_default();
        let mut team_names = teams.remove(&person.id).unwrap_or_default();
        team_names.sort();
        team_names.dedup();
        let (doors, lately) = knocks.remove(&person.id).unwrap_or_default();
        let mut streets: Vec<(i64, u32, String)> =
            lately.into_iter().map(|(s, (d, at))| (at, d.len() as u32, s)).collect();
        streets.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.2.cmp(&y.2)));
        let mut held = turfs.remove(&person.id).unwrap_or_default();
        held.sort();
        out.insert(
            person.id.clone(),
            PageFacts {
                turfs: held,
                user_id: person.id.clone(),
                name: person.display_name.clone(),
                role: person.role.as_str().to_string(),
                has_photo,
                settings,
                teams: team_names.into_iter().map(|(name, _)| name).collect(),
                sessions_attended: checked_in.get(&person.id).copied().unwrap_or(0) as u32,
                doors: doors.len() as u32,
                conversations: doors.values().filter(|c| **c).count() as u32,
                activity: streets.into_iter().take(ACTIVITY_STREETS).map(|(_, n, s)| (n, s)).collect(),
            },
        );
    }
    Ok(out)
}

/// The names people are shown by to one viewer (their name, or their pseudonym where they keep
/// their name from this viewer), each looked up once.
#[derive(Debug, Default)]
pub struct ShownNames(HashMap<String, String>);

impl ShownNames {
    /// The name `person_id` is shown by to `viewer`; `stored` (the name as the caller has it) for
    /// the viewer themself and for an account that is gone.
    pub async fn shown(
        &mut self,
        tx: &mut dyn Tx,
        viewer: &User,
        person_id: &str,
        stored: &str,
    ) -> StoreResult<String> {
        if person_id == viewer.id {
            return Ok(stored.to_string());
        }
        if let Some(n) = self.0.get(person_id) {
            return Ok(n.clone());
        }
        let name = match live_user(tx, &viewer.campaign_id, person_id).await? {
            Some(person) => {
                let (settings, _) = profile(tx, person_id).await?;
                let (r, _) = relation(tx, viewer, &person).await?;
                if doorstep_protocol::validate::people::name_shown(settings.visibility.name, &r) {
                    person.display_name
                } else {
                    settings.pseudonym.unwrap_or_else(|| "Bénévole".to_string())
                }
            }
            None => stored.to_string(),
        };
        self.0.insert(person_id.to_string(), name.clone());
        Ok(name)
    }
}

/// The sessions `me`'s coopains are going to (signed up, confirmed or checked in): (session,
/// the coopain's name as `me` may see it), sorted by name within a session.
pub async fn coopains_going(tx: &mut dyn Tx, me: &User) -> StoreResult<Vec<(String, String)>> {
    let rows = tx.rows(SELECT_COOPAINS_GOING, &vals![me.campaign_id.as_str(), me.id.as_str()]).await?;
    let mut names = ShownNames::default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (session, who, stored) = (r[0].text()?, r[1].text()?, r[2].text()?);
        out.push((session, names.shown(tx, me, &who, &stored).await?));
    }
    out.sort();
    Ok(out)
}

/// A person's page as `viewer` sees it; `None` if there is no such person in the viewer's
/// campaign (or their account was deleted).
pub async fn page_for(
    tx: &mut dyn Tx,
    viewer: &User,
    person_id: &str,
    now_ms: i64,
) -> StoreResult<Option<VolunteerPage>> {
    let mut links = HashMap::new();
    if person_id != viewer.id
        && let Some(l) = link(tx, &viewer.campaign_id, &viewer.id, person_id).await?
    {
        links.insert(person_id.to_string(), l);
    }
    Ok(pages_for(tx, viewer, &[person_id], &links, now_ms).await?.remove(person_id))
}

/// What a phone holds about its people: its own page, its coopains and asks, its team — read
/// together ([`pages_for`]: the same statements for a team of thirty as for one person).
pub async fn people_view(
    tx: &mut dyn Tx,
    me: &User,
    now_ms: i64,
) -> StoreResult<(VolunteerPage, Vec<VolunteerPage>, Vec<VolunteerPage>)> {
    let links: Vec<(String, CoopainState)> = links(tx, &me.campaign_id, &me.id).await?;
    let team_ids: Vec<String> = tx
        .rows(SELECT_TEAM_PEOPLE, &vals![me.id.as_str(), me.campaign_id.as_str()])
        .await?
        .iter()
        .map(|r| r[0].text())
        .collect::<StoreResult<_>>()?;
    let mut ids: Vec<&str> = vec![me.id.as_str()];
    ids.extend(links.iter().map(|(o, _)| o.as_str()));
    ids.extend(team_ids.iter().map(String::as_str));
    ids.sort_unstable();
    ids.dedup();
    let linked: HashMap<String, CoopainState> = links.iter().cloned().collect();
    let mut pages = pages_for(tx, me, &ids, &linked, now_ms).await?;
    let mine = pages.remove(&me.id).ok_or_else(|| StoreError::Missing { kind: "user", id: me.id.clone() })?;
    // A coopain (or an ask) shows as such, not again in the team.
    let mut coopains: Vec<VolunteerPage> = links.iter().filter_map(|(o, _)| pages.remove(o)).collect();
    let mut team: Vec<VolunteerPage> = team_ids.iter().filter_map(|id| pages.remove(id)).collect();
    coopains.sort_by(|a, b| a.shown_name.cmp(&b.shown_name));
    team.sort_by(|a, b| a.shown_name.cmp(&b.shown_name));
    Ok((mine, coopains, team))
}

/// Decides and records a person's people events, in order, in one transaction.
pub async fn record_people(
    tx: &mut dyn Tx,
    me: &User,
    device_id: &str,
    events: &[PeopleEvent],
    revoked: bool,
    now_ms: i64,
) -> StoreResult<Vec<PushItemResult>> {
    let campaign = me.campaign_id.as_str();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let held_hash = tx.row(SELECT_PEOPLE_EVENT, &vals![e.id.as_str()]).await?.map(|r| r[0].text()).transpose()?;
        let mut f =
            PeopleFacts { held_hash, revoked, author_coordinator: me.role == Role::Coordinator, ..Default::default() };
        if let PeopleAction::Coopain { user_id, .. } = &e.action {
            let other = live_user(tx, campaign, user_id).await?;
            f.other_known = other.is_some();
            f.other_coordinator = other.as_ref().is_some_and(|o| o.role == Role::Coordinator);
            if other.is_some() {
                f.link = link(tx, campaign, &me.id, user_id).await?;
            }
            f.author_links = tx
                .row(COUNT_LINKS, &vals![campaign, me.id.as_str()])
                .await?
                .map(|r| r[0].int())
                .transpose()?
                .unwrap_or(0) as u32;
        }
        let outcome = people_outcome(e, (device_id, me.id.as_str()), &f);
        match (&outcome, &e.action) {
            (PeopleOutcome::Profile, PeopleAction::Profile { settings }) => {
                tx.exec(UPSERT_PROFILE, &vals![me.id.as_str(), json(settings), now_ms]).await?;
            }
            (PeopleOutcome::Link(next), PeopleAction::Coopain { user_id, .. }) => {
                let (a, b) = if me.id < *user_id {
                    (me.id.as_str(), user_id.as_str())
                } else {
                    (user_id.as_str(), me.id.as_str())
                };
                match next {
                    None => {
                        tx.exec(DELETE_LINK, &vals![campaign, a, b]).await?;
                    }
                    Some(s) => {
                        // Stored from the author's side: who asked, or nobody once linked.
                        let asked_by = match s {
                            CoopainState::Linked => None,
                            CoopainState::AskedByMe => Some(me.id.as_str()),
                            CoopainState::AskedByThem => Some(user_id.as_str()),
                        };
                        tx.exec(UPSERT_LINK, &vals![campaign, a, b, asked_by, now_ms]).await?;
                    }
                }
            }
            _ => {}
        }
        if !matches!(outcome, PeopleOutcome::Duplicate | PeopleOutcome::Reject(_)) {
            let kind = match e.action {
                PeopleAction::Profile { .. } => "profile",
                PeopleAction::Coopain { .. } => "coopain",
            };
            tx.exec(
                INSERT_PEOPLE_EVENT,
                &vals![e.id.as_str(), campaign, me.id.as_str(), device_id, kind, event_hash(e), now_ms],
            )
            .await?;
        }
        out.push(PushItemResult { id: e.id.clone(), status: outcome.status(), notice: None });
    }
    Ok(out)
}

/// Past the campaign's retention date: every page (settings, photo), coopain link and people
/// event of the campaign goes. Returns the pages and links removed.
pub async fn purge(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<u64> {
    let pages = tx.exec(PURGE_PROFILES, &vals![campaign_id]).await?;
    let links = tx.exec(PURGE_LINKS, &vals![campaign_id]).await?;
    tx.exec(PURGE_PEOPLE_EVENTS, &vals![campaign_id]).await?;
    Ok(pages + links)
}

const PURGE_PROFILES: &str = "DELETE FROM profiles WHERE user_id IN (SELECT id FROM users WHERE campaign_id = $1)";
const PURGE_LINKS: &str = "DELETE FROM coopains WHERE campaign_id = $1";
const PURGE_PEOPLE_EVENTS: &str = "DELETE FROM people_events WHERE campaign_id = $1";
const SELECT_LIVE_USER: &str = "SELECT id, campaign_id, role, display_name, team_id FROM users
     WHERE id = $1 AND campaign_id = $2 AND deleted_ms IS NULL";
const SELECT_PROFILE: &str = "SELECT settings, photo_ms FROM profiles WHERE user_id = $1";
const SELECT_PHOTO: &str = "SELECT photo FROM profiles WHERE user_id = $1";
const UPSERT_PHOTO: &str =
    "INSERT INTO profiles(user_id, settings, photo, photo_ms, updated_ms) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id) DO UPDATE SET photo = $3, photo_ms = $4, updated_ms = $5";
const UPSERT_PROFILE: &str = "INSERT INTO profiles(user_id, settings, updated_ms) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET settings = $2, updated_ms = $3";
const SELECT_LINK: &str = "SELECT asked_by FROM coopains WHERE campaign_id = $1 AND a = $2 AND b = $3";
const SELECT_LINKS_OF: &str =
    "SELECT a, b, asked_by FROM coopains WHERE campaign_id = $1 AND (a = $2 OR b = $2) ORDER BY a, b";
/// A person's links and pending asks of their own (asks they received do not count).
const COUNT_LINKS: &str = "SELECT COUNT(*) FROM coopains WHERE campaign_id = $1 AND (a = $2 OR b = $2)
     AND (asked_by IS NULL OR asked_by = $2)";
const UPSERT_LINK: &str = "INSERT INTO coopains(campaign_id, a, b, asked_by, updated_ms) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (campaign_id, a, b) DO UPDATE SET asked_by = $4, updated_ms = $5";
const DELETE_LINK: &str = "DELETE FROM coopains WHERE campaign_id = $1 AND a = $2 AND b = $3";
const SELECT_LEADS_TEAM: &str = "SELECT 1 FROM team_captains WHERE team_id = $1 AND user_id = $2";
// The statements over a set of people (`{ids}`: see `with_ids`; the set is `$1`).
const SELECT_LIVE_USERS: &str = "SELECT id, campaign_id, role, display_name, team_id FROM users
     WHERE id {ids} AND campaign_id = $2 AND deleted_ms IS NULL";
const SELECT_CAPTAINS_OF: &str = "SELECT team_id, user_id FROM team_captains WHERE user_id {ids}";
const SELECT_PROFILES: &str = "SELECT user_id, settings, photo_ms FROM profiles WHERE user_id {ids}";
/// The teams a person belongs to or leads: (person, team, its name).
const SELECT_TEAM_NAMES_OF: &str =
    "SELECT c.user_id, t.id, t.name FROM team_captains c JOIN teams t ON t.id = c.team_id
     WHERE c.user_id {ids}
     UNION SELECT u.id, t.id, t.name FROM users u JOIN teams t ON t.id = u.team_id WHERE u.id {ids}";
const COUNT_CHECKED_IN_OF: &str = "SELECT volunteer_id, COUNT(*) FROM session_signups
     WHERE volunteer_id {ids} AND state = 'checked_in' GROUP BY volunteer_id";
const SELECT_KNOCKS_OF_ALL: &str =
    "SELECT r.volunteer_id, COALESCE(r.door_id, r.building_id), r.result_code, r.received_ms, b.street
     FROM reports r JOIN buildings b ON b.id = r.building_id WHERE r.volunteer_id {ids} AND r.campaign_id = $2";
/// Turfs each person holds now (a lease not expired).
const SELECT_HELD_TURF_NAMES_OF: &str = "SELECT volunteer_id, name FROM turfs WHERE volunteer_id {ids}
     AND (lease_expires_ms IS NULL OR lease_expires_ms > $2)";
const SELECT_CAMPAIGN_CODES: &str = "SELECT result_codes FROM campaigns WHERE id = $1";
/// The people of a person's teams: the volunteers of the team they belong to or lead, and the
/// captains who lead those teams.
const SELECT_TEAM_PEOPLE: &str =
    "SELECT u.id FROM users u WHERE u.id <> $1 AND u.campaign_id = $2 AND u.deleted_ms IS NULL AND u.id IN (
       SELECT v.id FROM users v WHERE v.team_id IN (SELECT team_id FROM users WHERE id = $1 AND team_id IS NOT NULL)
       UNION SELECT v.id FROM users v WHERE v.team_id IN (SELECT team_id FROM team_captains WHERE user_id = $1)
       UNION SELECT c.user_id FROM team_captains c WHERE c.team_id IN (SELECT team_id FROM users WHERE id = $1)
       UNION SELECT c.user_id FROM team_captains c WHERE c.team_id IN (SELECT team_id FROM team_captains WHERE user_id = $1))
     ORDER BY u.id";
const SELECT_COOPAINS_GOING: &str = "SELECT s.session_id, s.volunteer_id, u.display_name FROM session_signups s
     JOIN users u ON u.id = s.volunteer_id
     JOIN coopains c ON c.campaign_id = $1 AND c.asked_by IS NULL
       AND ((c.a = $2 AND c.b = s.volunteer_id) OR (c.b = $2 AND c.a = s.volunteer_id))
     WHERE s.state IN ('signed_up', 'confirmed', 'checked_in') AND u.deleted_ms IS NULL";
const SELECT_PEOPLE_EVENT: &str = "SELECT body_hash FROM people_events WHERE id = $1";
const INSERT_PEOPLE_EVENT: &str =
    "INSERT INTO people_events(id, campaign_id, author_id, device_id, kind, body_hash, received_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, role: Role, team: Option<&str>) -> User {
        User {
            id: id.into(),
            campaign_id: "c".into(),
            role,
            display_name: id.into(),
            team_id: team.map(str::to_string),
        }
    }

    /// (viewer, person, their link, the leads known (team, captain), the relation's (team, coopain)).
    type Case = (User, User, Option<CoopainState>, &'static [(&'static str, &'static str)], (bool, bool));

    /// Who the viewer is to a person.
    #[test]
    fn relation_case_table() {
        use Role::*;
        let leads = |pairs: &[(&str, &str)]| -> HashSet<(String, String)> {
            pairs.iter().map(|(t, u)| (t.to_string(), u.to_string())).collect()
        };
        let linked = Some(CoopainState::Linked);
        let asked = Some(CoopainState::AskedByMe);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // one team
            (person("a", Volunteer, Some("n")), person("b", Volunteer, Some("n")), None, &[], (true, false)),
            // two teams, linked
            (person("a", Volunteer, Some("n")), person("b", Volunteer, Some("s")), linked, &[], (false, true)),
            // an ask is no link yet
            (person("a", Volunteer, Some("n")), person("b", Volunteer, Some("s")), asked, &[], (false, false)),
            // a captain seeing the team they lead (no team of their own)
            (person("k", Captain, None), person("b", Volunteer, Some("n")), None, &[("n", "k")], (true, false)),
            // the team seeing the captain who leads it
            (person("b", Volunteer, Some("n")), person("k", Captain, None), None, &[("n", "k")], (true, false)),
            // a captain of another team
            (person("b", Volunteer, Some("n")), person("k", Captain, None), None, &[("s", "k")], (false, false)),
            // a lead recorded for someone who is no captain (any more) does not count
            (person("v", Volunteer, None), person("b", Volunteer, Some("n")), None, &[("n", "v")], (false, false)),
            // no teams at all
            (person("a", Volunteer, None), person("b", Volunteer, None), None, &[], (false, false)),
        ];
        for (viewer, p, link, led, want) in cases {
            let r = relation_of(viewer, p, *link, &leads(led));
            assert_eq!((r.team, r.coopain), *want, "{} sees {}", viewer.id, p.id);
            assert!(!r.me && !r.coordinator);
        }
        let me = person("a", Coordinator, Some("n"));
        let r = relation_of(&me, &me, None, &HashSet::new());
        assert!(r.me && r.coordinator && r.team);
    }
}
