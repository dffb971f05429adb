//! The counts the coordinator's counters keep (`super::counters`, `super::groups`): plain sums,
//! each added to with a sign (a change, or its reverse).

/// Door counts of a turf, or a change to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DoorCounts {
    pub doors: i64,
    pub knocked: i64,
    pub contacted: i64,
}

/// Knock counts of a (turf, volunteer), or a change to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnockCounts {
    pub knocks: i64,
    pub overlaps: i64,
    pub time_ms: i64,
}

impl DoorCounts {
    pub fn add(&mut self, o: DoorCounts, sign: i64) {
        self.doors += sign * o.doors;
        self.knocked += sign * o.knocked;
        self.contacted += sign * o.contacted;
    }
}

impl KnockCounts {
    pub fn add(&mut self, o: KnockCounts, sign: i64) {
        self.knocks += sign * o.knocks;
        self.overlaps += sign * o.overlaps;
        self.time_ms += sign * o.time_ms;
    }
}

/// Knocks and conversations of a (turf, hour), or a change to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub knocks: i64,
    pub contacts: i64,
}

impl HourCounts {
    pub fn one(contact: bool) -> Self {
        HourCounts { knocks: 1, contacts: i64::from(contact) }
    }
    pub fn add(&mut self, o: HourCounts, sign: i64) {
        self.knocks += sign * o.knocks;
        self.contacts += sign * o.contacts;
    }
}
