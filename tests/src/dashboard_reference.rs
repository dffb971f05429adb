//! The dashboard's definitions computed the slow, obvious way — every door and every report of the
//! campaign read into memory, door status from `doorstep_protocol::status::door_status` — against
//! which the server's SQL aggregates are checked (conformance suite, both backends) and timed
//! (`doorstep-dashboard-bench`).

use std::collections::{BTreeMap, HashMap, HashSet};

use doorstep_protocol::status::{DoorStatus, StatusFact, door_status};
use doorstep_protocol::{AnswerValue, Outcome};
use doorstep_server::admin::Staff;
use doorstep_server::dashboard::LAST_DOOR_MS;
use doorstep_server::store::StoreOps;
use doorstep_server::store::dash::SESSION_GAP_MS;
use doorstep_server::store::{DoorRow, LocatedReport, ServerStore};

/// Door and knock figures of one row (campaign, team, turf or volunteer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub doors: u64,
    pub knocked: u64,
    pub contacted: u64,
    pub knocks: u64,
    pub overlaps: u64,
    /// Knocking time in ms (volunteer-hours).
    pub ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    pub campaign: Figures,
    pub turfs: BTreeMap<String, Figures>,
    pub teams: BTreeMap<String, Figures>,
    pub volunteers: BTreeMap<String, Figures>,
    /// Hour start → (knocks, contacts).
    pub hours: BTreeMap<i64, (u64, u64)>,
    /// (Turf, hour start) → (knocks, contacts).
    pub turf_hours: BTreeMap<(String, i64), (u64, u64)>,
    /// Volunteer → (time, lat, lon) of their latest located report.
    pub positions: BTreeMap<String, (i64, f64, f64)>,
    /// Building → (doors, knocked, contacted, least advanced status, door ids sorted).
    pub buildings: BTreeMap<String, (u32, u32, u32, DoorStatus, Vec<String>)>,
    /// Overlap report id → reviewed.
    pub overlaps: BTreeMap<String, bool>,
}

/// Everything in a staff member's reach, read whole.
pub struct Reach {
    pub campaign: doorstep_protocol::Campaign,
    /// turf id → team
    pub turfs: HashMap<String, Option<String>>,
    pub doors: Vec<DoorRow>,
    pub reports: Vec<LocatedReport>,
    /// Every report of the campaign (a knock's share of time depends on the volunteer's knock
    /// before it, wherever that was).
    pub all_reports: Vec<LocatedReport>,
    pub reviewed: HashSet<String>,
    /// Every building of the campaign (in reach or not): its turf and polling station now.
    pub buildings: HashMap<String, (Option<String>, Option<String>)>,
}

impl Reach {
    pub async fn read(store: &dyn ServerStore, st: &Staff) -> Reach {
        let c = st.campaign();
        let campaign = store.campaign(c).await.unwrap().unwrap();
        let in_reach = |team: Option<&str>| match &st.teams {
            None => true,
            Some(ts) => team.is_some_and(|t| ts.iter().any(|x| x == t)),
        };
        let turfs: HashMap<String, Option<String>> = store
            .turf_summaries(c)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| in_reach(s.turf.team_id.as_deref()))
            .map(|s| (s.turf.id, s.turf.team_id))
            .collect();
        let all_doors = store.campaign_doors(c).await.unwrap();
        let buildings: HashMap<String, (Option<String>, Option<String>)> =
            all_doors.iter().map(|d| (d.building_id.clone(), (d.turf_id.clone(), d.station.clone()))).collect();
        let reaches = |t: Option<&String>| st.teams.is_none() || t.is_some_and(|t| turfs.contains_key(t));
        let doors = all_doors.iter().filter(|d| reaches(d.turf_id.as_ref())).cloned().collect();
        let all_reports = store.located_reports(c).await.unwrap();
        let reports = all_reports
            .iter()
            .filter(|r| {
                reaches(buildings.get(&r.building_id).and_then(|b| b.0.as_ref()))
                    || reaches(Some(&r.stored.report.turf_id))
            })
            .cloned()
            .collect();
        let reviewed = store.overlap_reviews(c).await.unwrap().into_iter().collect();
        Reach { campaign, turfs, doors, reports, all_reports, reviewed, buildings }
    }

    fn outcome(&self, r: &LocatedReport) -> Option<Outcome> {
        self.campaign.result_code(&r.stored.report.result_code).map(|c| c.outcome)
    }

    /// The report `r` corrects, when it names one of the same volunteer and target (the rule book's
    /// scope for corrections; no other `supersedes` hides anything).
    fn corrects<'a>(&self, r: &'a LocatedReport) -> Option<&'a str> {
        let k = &r.stored.report;
        let named = k.supersedes.as_deref()?;
        self.reports
            .iter()
            .any(|x| {
                let o = &x.stored.report;
                o.id == named
                    && o.volunteer_id == k.volunteer_id
                    && o.campaign_id == k.campaign_id
                    && o.target == k.target
            })
            .then_some(named)
    }

    fn superseded(&self) -> HashSet<&str> {
        self.reports.iter().filter_map(|r| self.corrects(r)).collect()
    }

    /// When a report counts as made: the device's clock within the rule book's bounds, else the
    /// server's receipt.
    fn at(r: &LocatedReport) -> i64 {
        doorstep_protocol::validate::report_time(r.stored.report.hlc.millis, r.received_ms).0
    }

    /// Status and whether contacted, per door.
    pub fn door_states(&self) -> HashMap<&str, (DoorStatus, bool)> {
        let mut doors_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for d in &self.doors {
            doors_of.entry(d.building_id.as_str()).or_default().push(d.door_id.as_str());
        }
        let mut by_door: HashMap<&str, Vec<&LocatedReport>> = HashMap::new();
        for r in &self.reports {
            match &r.door_id {
                Some(d) => by_door.entry(d.as_str()).or_default().push(r),
                None => {
                    for d in doors_of.get(r.building_id.as_str()).into_iter().flatten() {
                        by_door.entry(d).or_default().push(r);
                    }
                }
            }
        }
        self.doors
            .iter()
            .map(|d| {
                let reports = by_door.get(d.door_id.as_str()).map(Vec::as_slice).unwrap_or_default();
                let facts: Vec<StatusFact> = reports
                    .iter()
                    .filter_map(|r| {
                        self.outcome(r).map(|outcome| StatusFact {
                            id: r.stored.report.id.clone(),
                            supersedes: self.corrects(r).map(str::to_string),
                            outcome,
                            rejected: false,
                        })
                    })
                    .collect();
                let superseded: HashSet<&str> = facts.iter().filter_map(|f| f.supersedes.as_deref()).collect();
                let contacted =
                    facts.iter().any(|f| f.outcome == Outcome::Contacted && !superseded.contains(f.id.as_str()));
                (d.door_id.as_str(), (door_status(&facts), contacted))
            })
            .collect()
    }

    /// The turf a report counts for: its door's turf now, or its own when the door is in none.
    fn counted_turf<'a>(&'a self, r: &'a LocatedReport) -> &'a String {
        self.buildings.get(&r.building_id).and_then(|b| b.0.as_ref()).unwrap_or(&r.stored.report.turf_id)
    }

    pub fn expected(&self) -> Expected {
        let mut e = Expected::default();
        let states = self.door_states();
        let team_of = |t: &str| self.turfs.get(t).cloned().flatten();
        for d in &self.doors {
            let (status, contacted) = states[d.door_id.as_str()];
            let add = |f: &mut Figures| {
                f.doors += 1;
                f.knocked += u64::from(status != DoorStatus::Untouched);
                f.contacted += u64::from(contacted);
            };
            add(&mut e.campaign);
            if let Some(t) = d.turf_id.as_ref().filter(|t| self.turfs.contains_key(*t)) {
                add(e.turfs.entry(t.clone()).or_default());
                if let Some(team) = team_of(t) {
                    add(e.teams.entry(team).or_default());
                }
            }
            let b = e.buildings.entry(d.building_id.clone()).or_insert((0, 0, 0, DoorStatus::DoNotReturn, vec![]));
            b.0 += 1;
            b.1 += u32::from(status != DoorStatus::Untouched);
            b.2 += u32::from(contacted);
            b.3 = b.3.min(status);
            b.4.push(d.door_id.clone());
        }
        for b in e.buildings.values_mut() {
            b.4.sort();
        }
        // Each knock's share of time: the gap since the volunteer's previous knock (any turf,
        // in or out of reach) when at most 30 min, else 2 min for a session's last door.
        let mut by_vol: BTreeMap<&str, Vec<(i64, u32, &str, &LocatedReport)>> = BTreeMap::new();
        for r in &self.all_reports {
            let k = &r.stored.report;
            by_vol.entry(&k.volunteer_id).or_default().push((Self::at(r), k.hlc.counter, &k.id, r));
        }
        let mut share: HashMap<&str, i64> = HashMap::new();
        for knocks in by_vol.values_mut() {
            knocks.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
            for (i, (at, _, id, _)) in knocks.iter().enumerate() {
                let gap = i.checked_sub(1).map(|p| at - knocks[p].0);
                share.insert(id, gap.filter(|g| *g <= SESSION_GAP_MS).unwrap_or(LAST_DOOR_MS));
            }
        }
        for r in &self.reports {
            let k = &r.stored.report;
            let turf = self.counted_turf(r);
            let unreviewed = r.stored.overlap && !self.reviewed.contains(&k.id);
            let ms = share[k.id.as_str()];
            let add = |f: &mut Figures| {
                f.knocks += 1;
                f.overlaps += u64::from(unreviewed);
                f.ms += ms;
            };
            // Knocks count where their door is now: within reach when that turf is.
            if self.turfs.contains_key(turf) {
                add(&mut e.campaign);
                add(e.volunteers.entry(k.volunteer_id.clone()).or_default());
                add(e.turfs.entry(turf.clone()).or_default());
                if let Some(team) = team_of(turf) {
                    add(e.teams.entry(team).or_default());
                }
            }
            let at = Self::at(r);
            if self.turfs.contains_key(turf) {
                let hour = at - at.rem_euclid(3_600_000);
                let contact = u64::from(self.outcome(r) == Some(Outcome::Contacted));
                for h in [e.hours.entry(hour).or_default(), e.turf_hours.entry((turf.clone(), hour)).or_default()] {
                    (h.0, h.1) = (h.0 + 1, h.1 + contact);
                }
            }
            if r.stored.overlap {
                e.overlaps.insert(k.id.clone(), self.reviewed.contains(&k.id));
            }
        }
        // Each volunteer's latest located report, wherever it was made (the page shows it for the
        // volunteers in reach).
        type Latest<'a> = ((i64, u32, &'a str), f64, f64);
        let mut latest: BTreeMap<&str, Latest> = BTreeMap::new();
        for r in &self.all_reports {
            let k = &r.stored.report;
            if let Some(p) = k.position {
                let key = (Self::at(r), k.hlc.counter, k.id.as_str());
                let slot = latest.entry(&k.volunteer_id).or_insert((key, p.lat, p.lon));
                if key > slot.0 {
                    *slot = (key, p.lat, p.lon);
                }
            }
        }
        e.positions = latest.into_iter().map(|(v, ((at, ..), lat, lon))| (v.to_string(), (at, lat, lon))).collect();
        e
    }

    /// Result code → count and question → answer → count over the standing reports matching the
    /// filter (turf counted as above, team of that turf, station of the building, dates).
    #[allow(clippy::type_complexity)]
    pub fn results(
        &self,
        turf: Option<&str>,
        team: Option<&str>,
        station: Option<&str>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> (u64, BTreeMap<String, u64>, BTreeMap<String, BTreeMap<String, u64>>) {
        let superseded = self.superseded();
        let (mut n, mut codes, mut answers) = (0, BTreeMap::new(), BTreeMap::<String, BTreeMap<String, u64>>::new());
        for r in &self.reports {
            let k = &r.stored.report;
            if superseded.contains(k.id.as_str()) {
                continue;
            }
            let t = self.counted_turf(r);
            // Counted where the door is now, within reach when that turf is.
            let keep = self.turfs.contains_key(t)
                && turf.is_none_or(|x| x == t)
                && team.is_none_or(|x| self.turfs.get(t).cloned().flatten().as_deref() == Some(x))
                && station.is_none_or(|s| self.buildings.get(&r.building_id).and_then(|b| b.1.as_deref()) == Some(s))
                && from_ms.is_none_or(|a| Self::at(r) >= a)
                && to_ms.is_none_or(|b| Self::at(r) < b);
            if !keep {
                continue;
            }
            n += 1;
            *codes.entry(k.result_code.clone()).or_default() += 1;
            // Answers count from conversations only (a code whose outcome is "contacted").
            let conversation = self.outcome(r) == Some(Outcome::Contacted);
            for a in k.answers.iter().filter(|_| conversation) {
                let keys = match &a.value {
                    AnswerValue::YesNo { value } => vec![if *value { "yes" } else { "no" }.to_string()],
                    AnswerValue::Choice { value } => vec![value.clone()],
                    AnswerValue::Choices { values } => values.clone(),
                    AnswerValue::Scale { value } => vec![value.to_string()],
                    AnswerValue::Text { .. } => vec![],
                };
                let q = answers.entry(a.question_id.clone()).or_default();
                *q.entry(String::new()).or_default() += 1; // answered
                for key in keys {
                    *q.entry(key).or_default() += 1;
                }
            }
        }
        (n, codes, answers)
    }
}
