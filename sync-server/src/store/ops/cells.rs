//! The coordinator's map at low zoom (issue 21): per campaign, per grid level and per cell of that
//! level, the doors, knocked doors and contacted doors, kept by the writes that change them, so
//! that a map of a whole country reads a few hundred rows instead of every building.
//!
//! Cells are squares of latitude and longitude ([`LEVELS`]: 1°, 0.1°, 0.01°, about 111, 11 and
//! 1.1 km north to south). They belong to the campaign, not to turfs: a street moved or a turf cut
//! changes none. What changes them: new doors (an import, [`doors_added`]), a door's tally
//! (a push, a held report accepted: [`tallies_changed`]) and a campaign counted again
//! ([`rebuild`]). Only coordinators read them (a captain's map is their turfs' buildings).

use std::collections::BTreeMap;

use super::super::records::StoreResult;
use super::super::tx::{Tx, Val};
use crate::vals;

/// Cells per degree at each level (level = index).
pub const LEVELS: [f64; 3] = [1.0, 10.0, 100.0];

/// The cell of a position at a level: (row from the south pole, column from the antimeridian).
pub fn cell_of(level: usize, lat: f64, lon: f64) -> (i64, i64) {
    let k = LEVELS[level];
    (((lat + 90.0) * k).floor() as i64, ((lon + 180.0) * k).floor() as i64)
}

/// A cell's south-west corner and size in degrees.
pub fn cell_corner(level: usize, row: i64, col: i64) -> (f64, f64, f64) {
    let k = LEVELS[level];
    (row as f64 / k - 90.0, col as f64 / k - 180.0, 1.0 / k)
}

/// Door counts of a cell, or a change to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellCounts {
    pub doors: i64,
    pub knocked: i64,
    pub contacted: i64,
}

impl CellCounts {
    fn add(&mut self, o: CellCounts) {
        self.doors += o.doors;
        self.knocked += o.knocked;
        self.contacted += o.contacted;
    }
}

/// Changes at positions, spread over every level's cells.
fn by_cell(changes: impl IntoIterator<Item = (f64, f64, CellCounts)>) -> BTreeMap<(i64, i64, i64), CellCounts> {
    let mut out: BTreeMap<(i64, i64, i64), CellCounts> = BTreeMap::new();
    for (lat, lon, c) in changes {
        for level in 0..LEVELS.len() {
            let (row, col) = cell_of(level, lat, lon);
            out.entry((level as i64, row, col)).or_default().add(c);
        }
    }
    out
}

/// Adds to the cells' rows, in key order (two writers never wait on each other in a circle).
async fn add(tx: &mut dyn Tx, campaign_id: &str, cells: BTreeMap<(i64, i64, i64), CellCounts>) -> StoreResult<()> {
    for ((level, row, col), c) in cells.into_iter().filter(|(_, c)| *c != CellCounts::default()) {
        tx.defer(UPSERT_CELL, vals![campaign_id, level, row, col, c.doors, c.knocked, c.contacted].to_vec()).await?;
    }
    Ok(())
}

/// New doors at their buildings' positions.
pub async fn doors_added(tx: &mut dyn Tx, campaign_id: &str, positions: &[(f64, f64)]) -> StoreResult<()> {
    let one = CellCounts { doors: 1, ..CellCounts::default() };
    add(tx, campaign_id, by_cell(positions.iter().map(|&(lat, lon)| (lat, lon, one)))).await
}

/// Doors whose tally changed, at their buildings' positions: (lat, lon, knocked change, contacted
/// change).
pub async fn tallies_changed(tx: &mut dyn Tx, campaign_id: &str, changes: &[(f64, f64, i64, i64)]) -> StoreResult<()> {
    let cells = by_cell(
        changes.iter().map(|&(lat, lon, knocked, contacted)| (lat, lon, CellCounts { doors: 0, knocked, contacted })),
    );
    add(tx, campaign_id, cells).await
}

/// The positions of some buildings.
pub async fn positions_of<'a>(
    tx: &mut dyn Tx,
    ids: impl Iterator<Item = &'a str>,
) -> StoreResult<std::collections::HashMap<String, (f64, f64)>> {
    let ids: Vec<&str> = ids.collect();
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(400) {
        let list = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT id, lat, lon FROM buildings WHERE id IN ({list})");
        for r in tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await? {
            out.insert(r[0].text()?, (r[1].float()?, r[2].float()?));
        }
    }
    Ok(out)
}

/// A campaign's cells counted again from its buildings, doors and door tallies.
pub async fn rebuild(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    tx.exec(DELETE_CELLS, &vals![campaign_id]).await?;
    let mut changes = Vec::new();
    for r in tx.rows(SELECT_BUILDING_COUNTS, &vals![campaign_id]).await? {
        let c = CellCounts { doors: r[2].int()?, knocked: r[3].int()?, contacted: r[4].int()? };
        changes.push((r[0].float()?, r[1].float()?, c));
    }
    add(tx, campaign_id, by_cell(changes)).await
}

/// A cell as the map shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MapCell {
    /// South-west corner and size, in degrees.
    pub south: f64,
    pub west: f64,
    pub size: f64,
    pub doors: u64,
    pub knocked: u64,
    pub contacted: u64,
}

/// The cells of a level within a box (south, west, north, east), at most `limit`.
pub async fn read(
    tx: &mut dyn Tx,
    campaign_id: &str,
    level: usize,
    bbox: (f64, f64, f64, f64),
    limit: i64,
) -> StoreResult<Vec<MapCell>> {
    let (south, west, north, east) = bbox;
    let (r0, c0) = cell_of(level, south, west);
    let (r1, c1) = cell_of(level, north, east);
    let rows = tx.rows(SELECT_CELLS, &vals![campaign_id, level as i64, r0, r1, c0, c1, limit]).await?;
    rows.iter()
        .map(|r| {
            let (s, w, size) = cell_corner(level, r[0].int()?, r[1].int()?);
            Ok(MapCell {
                south: s,
                west: w,
                size,
                doors: r[2].int()? as u64,
                knocked: r[3].int()? as u64,
                contacted: r[4].int()? as u64,
            })
        })
        .collect()
}

// ----- its SQL (the same text on both backends) -----

const UPSERT_CELL: &str = "INSERT INTO map_cells(campaign_id, level, cell_row, cell_col, doors, knocked, contacted)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id, level, cell_row, cell_col) DO UPDATE SET
     doors = map_cells.doors + excluded.doors, knocked = map_cells.knocked + excluded.knocked,
     contacted = map_cells.contacted + excluded.contacted";

const DELETE_CELLS: &str = "DELETE FROM map_cells WHERE campaign_id = $1";

/// Per building of a campaign: its position, doors, knocked and contacted doors.
const SELECT_BUILDING_COUNTS: &str = "SELECT b.lat, b.lon, COUNT(d.id),
       CAST(SUM(CASE WHEN t.status > 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(COALESCE(t.contacted, 0)) AS BIGINT)
     FROM buildings b JOIN doors d ON d.building_id = b.id LEFT JOIN door_tally t ON t.door_id = d.id
     WHERE b.campaign_id = $1 GROUP BY b.id, b.lat, b.lon";

const SELECT_CELLS: &str = "SELECT cell_row, cell_col, doors, knocked, contacted FROM map_cells
     WHERE campaign_id = $1 AND level = $2 AND cell_row >= $3 AND cell_row <= $4 AND cell_col >= $5 AND cell_col <= $6
       AND doors > 0
     ORDER BY cell_row, cell_col LIMIT $7";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_contain_their_positions() {
        for &(lat, lon) in &[(45.764, 4.8357), (-21.115, 55.536), (0.0, 0.0), (48.8566, 2.3522), (-0.0001, -0.0001)] {
            for level in 0..LEVELS.len() {
                let (row, col) = cell_of(level, lat, lon);
                let (s, w, size) = cell_corner(level, row, col);
                assert!(s <= lat && lat < s + size + 1e-9, "{lat} in [{s}, {}) at level {level}", s + size);
                assert!(w <= lon && lon < w + size + 1e-9, "{lon} in [{w}, {}) at level {level}", w + size);
            }
        }
        // Lyon's Place Bellecour and the Part-Dieu station: one cell at 11 km, two at 1.1 km.
        assert_eq!(cell_of(1, 45.7578, 4.8320), cell_of(1, 45.7606, 4.8593));
        assert_ne!(cell_of(2, 45.7578, 4.8320), cell_of(2, 45.7606, 4.8593));
    }
}
