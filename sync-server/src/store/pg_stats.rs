//! PostgreSQL's statistics on the tables the knocks fill (issue 21, Deliver 6).
//!
//! A campaign's first evening starts with `door_standing`, `door_tally` and its reports empty, and
//! fills them by the thousand a second. Until PostgreSQL analyzes them, its plans guess: the national
//! load model's peak (`doorstep-national-load`) found a turf's standing read at 5.4 ms instead of
//! 0.65, a door's standing rows deleted in 2.8 ms instead of 0.22, a volunteer's knocks in 4.4 ms
//! instead of 0.15 — a sync's p50 at 6.9 s instead of 1.4 s. Autovacuum analyzes them at its own
//! pace (a minute apart by default, and a shorter `autovacuum_naptime` did not help the model), so
//! the server processes analyze them too, as they grow.
//!
//! Facts → plan → apply: a second after a push that stored reports (at most one check waiting per
//! process), a process reads each table's rows at its last analysis and the rows changed since
//! ([`FACTS`]: PostgreSQL's own counts, shared by every process and reset by autovacuum's analyses
//! too), [`plan`] names the tables that grew by half since (at least [`MIN_CHANGED`] rows), and
//! it analyzes those with a sample of [`STATISTICS_TARGET`] (an advisory lock: one process at a
//! time, the others skip their turn). Growth by half makes it about eight analyses while a table
//! goes from empty to 100,000 rows.
//!
//! What it cost before (the twentieth session's version: each process counted the reports it wrote
//! and analyzed every table at PostgreSQL's default sample when they reached a fifth of the
//! table): 14 analyses in a 30 s peak of the model on 20,000 devices, 772 ms each, a third of
//! PostgreSQL's time at the peak, and the push that triggered one waited for it. Measured on the
//! model's tables after a peak (96,499 reports): `ANALYZE reports` 621 ms at the default target
//! (100), 89 ms at 20; `door_standing` 211 → 41 ms; `door_tally` 131 → 42 ms.

use std::time::Duration;

/// Rows a table changes before its first analysis, and at least between two.
pub const MIN_CHANGED: f64 = 2_000.0;

/// The tables watched.
pub const TABLES: [&str; 4] = ["door_standing", "door_tally", "reports", "map_cells"];

/// The sample of these analyses (`default_statistics_target` for their transaction: 300 rows a
/// unit). Their plans need the tables' sizes and the keys' spread, not fine histograms; autovacuum's
/// own analyses, at the server's default, follow once the growth slows down.
pub const STATISTICS_TARGET: u32 = 20;

/// How long after a push a process checks (PostgreSQL's counts of changed rows arrive within a
/// second of a busy connection's commit).
pub const CHECK_AFTER: Duration = Duration::from_secs(1);

/// Each watched table: its name, its rows at its last analysis (`reltuples`: -1 before the first)
/// and the rows changed since (inserted, updated, deleted).
pub const FACTS: &str = "SELECT c.relname::text, c.reltuples::float8, pg_stat_get_mod_since_analyze(c.oid)::float8
     FROM pg_class c
     WHERE c.oid IN ('door_standing'::regclass, 'door_tally'::regclass, 'reports'::regclass, 'map_cells'::regclass)";

/// One table's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFacts {
    pub table: String,
    /// Rows at the last analysis; negative when the table was never analyzed.
    pub rows: f64,
    /// Rows changed since.
    pub changed: f64,
}

/// Whether a table is due: `changed` rows since an analysis that counted `rows`.
pub fn due(changed: f64, rows: f64) -> bool {
    changed >= MIN_CHANGED.max(rows.max(0.0) / 2.0)
}

/// The tables to analyze now, in [`TABLES`]' order (only those: a fact about another table is
/// ignored).
pub fn plan(facts: &[TableFacts]) -> Vec<&'static str> {
    TABLES.into_iter().filter(|t| facts.iter().any(|f| f.table == *t && due(f.changed, f.rows))).collect()
}

/// The statement that analyzes `tables` (none: nothing to run).
pub fn analyze_sql(tables: &[&str]) -> Option<String> {
    (!tables.is_empty()).then(|| format!("ANALYZE {}", tables.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_due_when_it_grew_by_half_and_at_least_min_changed() {
        // (rows changed since, rows at the last analysis, due)
        let cases = [
            (0.0, -1.0, false),
            (1_999.0, -1.0, false),
            (2_000.0, -1.0, true),
            (2_000.0, 0.0, true),
            (2_000.0, 4_000.0, true),
            (2_000.0, 4_002.0, false),
            (3_000.0, 6_000.0, true),
            (49_999.0, 100_000.0, false),
            (50_000.0, 100_000.0, true),
        ];
        for (changed, rows, want) in cases {
            assert_eq!(due(changed, rows), want, "{changed} changed since {rows} rows");
        }
    }

    #[test]
    fn the_plan_names_only_the_watched_tables_that_are_due() {
        let f = |table: &str, rows: f64, changed: f64| TableFacts { table: table.into(), rows, changed };
        let cases: [(Vec<TableFacts>, Vec<&str>); 5] = [
            (vec![], vec![]),
            (vec![f("reports", -1.0, 10.0), f("door_standing", -1.0, 20.0)], vec![]),
            (
                vec![f("map_cells", 100.0, 2_500.0), f("reports", 10_000.0, 9_000.0), f("door_tally", 0.0, 1.0)],
                vec!["reports", "map_cells"],
            ),
            (vec![f("buildings", -1.0, 1e6)], vec![]),
            (
                vec![
                    f("door_standing", 1e5, 5e4),
                    f("door_tally", 1e5, 5e4),
                    f("reports", 1e5, 5e4),
                    f("map_cells", 1e5, 5e4),
                ],
                TABLES.to_vec(),
            ),
        ];
        for (facts, want) in cases {
            assert_eq!(plan(&facts), want, "{facts:?}");
        }
        assert_eq!(analyze_sql(&[]), None);
        assert_eq!(analyze_sql(&["reports", "map_cells"]).as_deref(), Some("ANALYZE reports, map_cells"));
    }
}
