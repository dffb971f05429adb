//! PostgreSQL's statistics on the tables the knocks fill (issue 21, Deliver 6).
//!
//! A campaign's first evening starts with `door_standing`, `door_tally` and its reports empty, and
//! fills them by the thousand a second. Until PostgreSQL analyzes them, its plans guess: the national
//! load model's peak (`doorstep-national-load`) found a turf's standing read at 5.4 ms instead of
//! 0.65, a door's standing rows deleted in 2.8 ms instead of 0.22, a volunteer's knocks in 4.4 ms
//! instead of 0.15 — a sync's p50 at 6.9 s instead of 1.4 s. Autovacuum analyzes them at its own
//! pace (a minute apart by default, and a shorter `autovacuum_naptime` did not help the model), so
//! each server process also analyzes them itself as they grow: when the reports it wrote since its
//! last analysis reach a fifth of the table as it was then (at least [`MIN_WRITTEN`]). Growth by a
//! fifth each time makes it a few dozen analyses in a table's life; several processes take turns
//! (an advisory lock: one at a time, the others skip theirs).

/// Reports a process writes before its first analysis, and at least between two.
pub const MIN_WRITTEN: u64 = 5_000;

/// The tables analyzed.
pub const TABLES: &str = "door_standing, door_tally, reports, map_cells";

/// Whether an analysis is due: `written` reports since the last one, when the reports table held
/// `rows_then` rows.
pub fn due(written: u64, rows_then: u64) -> bool {
    written >= MIN_WRITTEN.max(rows_then / 5)
}

/// One process's count of the reports it wrote since its last analysis.
#[derive(Debug, Default)]
pub struct Freshness {
    written: u64,
    rows_then: u64,
}

impl Freshness {
    /// `n` reports written; true when an analysis is due (the count starts again).
    pub fn wrote(&mut self, n: u64) -> bool {
        self.written += n;
        let now = due(self.written, self.rows_then);
        if now {
            self.written = 0;
        }
        now
    }

    /// An analysis done: the reports table holds `rows` rows.
    pub fn analyzed(&mut self, rows: u64) {
        self.rows_then = rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyses_follow_the_growth_of_the_table() {
        // (written since the last analysis, rows then, due)
        let cases = [
            (0, 0, false),
            (4_999, 0, false),
            (5_000, 0, true),
            (5_000, 20_000, true),
            (5_000, 30_000, false),
            (6_000, 30_000, true),
            (199_999, 1_000_000, false),
            (200_000, 1_000_000, true),
        ];
        for (written, rows, want) in cases {
            assert_eq!(due(written, rows), want, "{written} written, {rows} then");
        }
        let mut f = Freshness::default();
        assert!(!f.wrote(3_000));
        assert!(f.wrote(2_000), "5,000 in all");
        assert!(!f.wrote(4_999), "the count started again");
        f.analyzed(100_000);
        assert!(!f.wrote(15_000), "a fifth of 100,000 is 20,000: 19,999 so far");
        assert!(f.wrote(1));
    }
}
