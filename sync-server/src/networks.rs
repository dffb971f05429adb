//! Street network files as French campaigns get them, recognised by their first bytes: GeoJSON
//! lines (either schema), an OpenStreetMap extract (`.osm.pbf`, e.g. Geofabrik's per region) and
//! IGN's BD TOPO road sections (`troncon_de_route` in its GeoPackage, Lambert-93 or the overseas
//! UTM projections). Each reader hands polylines in WGS84 to the one
//! [`doorstep_streets::sources::NetworkBuilder`] and asks its walkable-way rules; only lines that
//! reach into the campaign's area are kept, so a département's file serves a town's campaign.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use doorstep_protocol::StreetNetwork;
use doorstep_streets::sources::{
    Bounds, NetworkBuilder, NetworkStats, bdtopo_class, bdtopo_name, bdtopo_walkable, network_from_geojson_within,
    osm_walkable,
};

/// A street file, in memory (an HTTP body) or on disk (the CLI: a département's GeoPackage is
/// gigabytes).
#[derive(Debug, Clone)]
pub enum NetworkSource {
    Bytes(Vec<u8>),
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NetworkFormat {
    Geojson,
    OsmPbf,
    BdtopoGpkg,
}

/// Recognises a street file by its first bytes: SQLite's header (a GeoPackage), an OSM PBF blob
/// header (`OSMHeader` in its first block), else JSON.
pub fn sniff(head: &[u8]) -> NetworkFormat {
    if head.starts_with(b"SQLite format 3\0") {
        NetworkFormat::BdtopoGpkg
    } else if head.len() > 8 && head[..head.len().min(32)].windows(9).any(|w| w == b"OSMHeader") {
        NetworkFormat::OsmPbf
    } else {
        NetworkFormat::Geojson
    }
}

/// Reads a street file into a network, keeping the lines that reach into `bounds`.
pub fn read(
    source: &NetworkSource,
    bounds: Option<Bounds>,
) -> Result<(StreetNetwork, NetworkStats, NetworkFormat), String> {
    let head: Vec<u8> = match source {
        NetworkSource::Bytes(b) => b.iter().take(64).copied().collect(),
        NetworkSource::File(p) => {
            let mut buf = vec![0u8; 64];
            let n = std::fs::File::open(p)
                .and_then(|mut f| f.read(&mut buf))
                .map_err(|e| format!("{}: {e}", p.display()))?;
            buf.truncate(n);
            buf
        }
    };
    let format = sniff(&head);
    let (net, stats) = match (format, source) {
        (NetworkFormat::Geojson, NetworkSource::Bytes(b)) => geojson(b, bounds)?,
        (NetworkFormat::Geojson, NetworkSource::File(p)) => {
            geojson(&std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?, bounds)?
        }
        (NetworkFormat::OsmPbf, NetworkSource::Bytes(b)) => osm_pbf(std::io::Cursor::new(b), bounds)?,
        (NetworkFormat::OsmPbf, NetworkSource::File(p)) => {
            osm_pbf(std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?, bounds)?
        }
        (NetworkFormat::BdtopoGpkg, NetworkSource::File(p)) => bdtopo(p, bounds)?,
        (NetworkFormat::BdtopoGpkg, NetworkSource::Bytes(b)) => {
            // SQLite reads files: the body goes to a private temporary file, removed after.
            let mut nonce = [0u8; 12];
            getrandom::fill(&mut nonce).map_err(|e| format!("random: {e}"))?;
            let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
            let path = std::env::temp_dir().join(format!("doorstep-gpkg-{hex}.gpkg"));
            std::fs::write(&path, b).map_err(|e| format!("temporary file: {e}"))?;
            let out = bdtopo(&path, bounds);
            let _ = std::fs::remove_file(&path);
            out?
        }
    };
    Ok((net, stats, format))
}

fn geojson(bytes: &[u8], bounds: Option<Bounds>) -> Result<(StreetNetwork, NetworkStats), String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        format!("ni GeoJSON, ni OpenStreetMap PBF, ni GeoPackage / neither GeoJSON, OSM PBF nor GeoPackage: {e}")
    })?;
    network_from_geojson_within(&v, bounds)
}

/// An OpenStreetMap extract: the walkable `highway` ways and their nodes (one indexed pass).
fn osm_pbf<R: Read + Seek + Send>(reader: R, bounds: Option<Bounds>) -> Result<(StreetNetwork, NetworkStats), String> {
    let mut r = osmpbf::IndexedReader::new(reader).map_err(|e| format!("OpenStreetMap PBF: {e}"))?;
    let mut not_walkable = 0usize;
    let mut ways: Vec<(Vec<i64>, Option<String>, Option<String>)> = Vec::new();
    let mut nodes: HashMap<i64, (f64, f64)> = HashMap::new();
    r.read_ways_and_deps(
        |way| {
            let tags: Vec<(&str, &str)> = way.tags().collect();
            let tag = |k: &str| tags.iter().find(|(a, _)| *a == k).map(|(_, v)| v.to_string());
            let has_highway = tags.iter().any(|(k, _)| *k == "highway");
            let ok = osm_walkable(&tag);
            if has_highway && !ok {
                not_walkable += 1;
            }
            ok
        },
        |element| match element {
            osmpbf::Element::Way(w) => {
                let tag = |k: &str| w.tags().find(|(a, _)| *a == k).map(|(_, v)| v.to_string());
                ways.push((w.refs().collect(), tag("name"), tag("highway")));
            }
            osmpbf::Element::Node(n) => {
                nodes.insert(n.id(), (n.lon(), n.lat()));
            }
            osmpbf::Element::DenseNode(n) => {
                nodes.insert(n.id(), (n.lon(), n.lat()));
            }
            osmpbf::Element::Relation(_) => {}
        },
    )
    .map_err(|e| format!("OpenStreetMap PBF: {e}"))?;
    let mut b = NetworkBuilder::new().within(bounds);
    b.stats.not_walkable = not_walkable;
    let mut points = Vec::new();
    for (refs, name, class) in &ways {
        points.clear();
        points.extend(refs.iter().filter_map(|id| nodes.get(id).copied()));
        b.line(&points, name.as_deref(), class.as_deref());
    }
    b.finish()
}

/// Projections BD TOPO is published in, by EPSG code, as PROJ strings (RGF93 and the overseas
/// RGAF09, RGFG95, RGR92, RGM04, RGSPM06 frames are WGS84 to the centimetre).
const PROJECTIONS: &[(i64, &str, &str)] = &[
    (
        2154,
        "Lambert-93",
        "+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs",
    ),
    (5490, "UTM 20N (Antilles)", "+proj=utm +zone=20 +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs"),
    (2972, "UTM 22N (Guyane)", "+proj=utm +zone=22 +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs"),
    (2975, "UTM 40S (La Réunion)", "+proj=utm +zone=40 +south +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs"),
    (4471, "UTM 38S (Mayotte)", "+proj=utm +zone=38 +south +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs"),
    (4467, "UTM 21N (Saint-Pierre-et-Miquelon)", "+proj=utm +zone=21 +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs"),
];

/// Coordinates of a GeoPackage's spatial reference system, as WGS84 longitude and latitude.
enum Reprojection {
    None,
    Proj(Box<(proj4rs::Proj, proj4rs::Proj)>),
}

impl Reprojection {
    fn of(srs_id: i64) -> Result<Self, String> {
        if srs_id == 4326 || srs_id == 4171 {
            return Ok(Self::None);
        }
        let Some((_, _, def)) = PROJECTIONS.iter().find(|(c, _, _)| *c == srs_id) else {
            let known: Vec<String> = PROJECTIONS.iter().map(|(c, n, _)| format!("EPSG:{c} {n}")).collect();
            return Err(format!(
                "projection EPSG:{srs_id} non prise en charge / not supported (EPSG:4326, {})",
                known.join(", ")
            ));
        };
        let from = proj4rs::Proj::from_proj_string(def).map_err(|e| format!("EPSG:{srs_id}: {e}"))?;
        let to = proj4rs::Proj::from_proj_string("+proj=longlat +ellps=WGS84 +datum=WGS84 +no_defs")
            .map_err(|e| format!("WGS84: {e}"))?;
        Ok(Self::Proj(Box::new((from, to))))
    }

    fn lon_lat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match self {
            Self::None => Some((x, y)),
            Self::Proj(p) => {
                let (from, to) = (&p.0, &p.1);
                let mut p = (x, y, 0.0);
                proj4rs::transform::transform(from, to, &mut p).ok()?;
                Some((p.0.to_degrees(), p.1.to_degrees()))
            }
        }
    }
}

/// The IGN BD TOPO road sections of a GeoPackage: table `troncon_de_route` (the layer named in
/// `gpkg_contents`), its geometry column and projection from `gpkg_geometry_columns`.
fn bdtopo(path: &Path, bounds: Option<Bounds>) -> Result<(StreetNetwork, NetworkStats), String> {
    let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("GeoPackage: {e}"))?;
    let gpkg = |e: rusqlite::Error| format!("GeoPackage: {e}");
    let layer: Option<(String, String, i64)> = db
        .query_row(
            "SELECT table_name, column_name, srs_id FROM gpkg_geometry_columns
             WHERE lower(table_name) = 'troncon_de_route' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok();
    let Some((table, column, srs_id)) = layer else {
        let tables: Vec<String> = db
            .prepare("SELECT table_name FROM gpkg_contents")
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
            .map_err(gpkg)?;
        return Err(format!(
            "pas de couche troncon_de_route (BD TOPO) dans ce GeoPackage / no troncon_de_route layer; layers: {}",
            tables.join(", ")
        ));
    };
    let proj = Reprojection::of(srs_id)?;
    let mut stmt = db.prepare(&format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""))).map_err(gpkg)?;
    let names: Vec<String> = stmt.column_names().map(|s| s.to_lowercase()).collect();
    let at = |n: &str| names.iter().position(|c| c == n);
    let geom_at = at(&column.to_lowercase()).ok_or("GeoPackage: geometry column missing")?;
    let mut rows = stmt.query([]).map_err(gpkg)?;
    let mut b = NetworkBuilder::new().within(bounds);
    let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
    while let Some(row) = rows.next().map_err(gpkg)? {
        let text = |n: &str| -> Option<String> {
            let v = row.get_ref(at(n)?).ok()?;
            match v {
                rusqlite::types::ValueRef::Text(t) => {
                    Some(String::from_utf8_lossy(t).trim().to_string()).filter(|s| !s.is_empty())
                }
                rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
                rusqlite::types::ValueRef::Real(f) => Some(f.to_string()),
                _ => None,
            }
        };
        let nature = text("nature").unwrap_or_default();
        if !bdtopo_walkable(&nature, text("etat_de_l_objet").as_deref(), text("acces_pieton").as_deref()) {
            b.stats.not_walkable += 1;
            continue;
        }
        let blob = match row.get_ref(geom_at).map_err(gpkg)? {
            rusqlite::types::ValueRef::Blob(g) => g,
            _ => {
                b.stats.not_lines += 1;
                continue;
            }
        };
        lines.clear();
        if wkb_lines(gpkg_wkb(blob).unwrap_or(&[]), &mut lines).is_err() || lines.is_empty() {
            b.stats.not_lines += 1;
            continue;
        }
        let name = bdtopo_name(&text);
        let class = bdtopo_class(&nature, text("importance").as_deref());
        for line in &lines {
            let points: Vec<(f64, f64)> = line.iter().filter_map(|&(x, y)| proj.lon_lat(x, y)).collect();
            b.line(&points, name.as_deref(), Some(class));
        }
    }
    b.finish()
}

/// The WKB inside a GeoPackage geometry blob (`GP`, version, flags, SRS id, envelope).
fn gpkg_wkb(blob: &[u8]) -> Option<&[u8]> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return None;
    }
    let envelope = match (blob[3] >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    blob.get(8 + envelope..)
}

/// The lines of a WKB LineString or MultiLineString (2D, Z, M or ZM; ISO or extended type codes),
/// `(x, y)` only.
fn wkb_lines(wkb: &[u8], out: &mut Vec<Vec<(f64, f64)>>) -> Result<usize, ()> {
    let mut at = 0usize;
    read_geometry(wkb, &mut at, out)?;
    Ok(at)
}

fn read_geometry(w: &[u8], at: &mut usize, out: &mut Vec<Vec<(f64, f64)>>) -> Result<(), ()> {
    let little = *w.get(*at).ok_or(())? == 1;
    *at += 1;
    let u32_at = |at: &mut usize| -> Result<u32, ()> {
        let b: [u8; 4] = w.get(*at..*at + 4).ok_or(())?.try_into().map_err(|_| ())?;
        *at += 4;
        Ok(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let f64_at = |at: &mut usize| -> Result<f64, ()> {
        let b: [u8; 8] = w.get(*at..*at + 8).ok_or(())?.try_into().map_err(|_| ())?;
        *at += 8;
        Ok(if little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    };
    let code = u32_at(at)?;
    // ISO codes add 1000 (Z), 2000 (M) or 3000 (ZM); extended WKB sets the two high bits instead.
    let base = code & 0x0fff_ffff;
    let z = code & 0x8000_0000 != 0 || matches!(base / 1000, 1 | 3);
    let m = code & 0x4000_0000 != 0 || matches!(base / 1000, 2 | 3);
    let dims = 2 + usize::from(z) + usize::from(m);
    match base % 1000 {
        2 => {
            let n = u32_at(at)? as usize;
            if n > (w.len() - *at) / (8 * dims) {
                return Err(());
            }
            let mut line = Vec::with_capacity(n);
            for _ in 0..n {
                let (x, y) = (f64_at(at)?, f64_at(at)?);
                *at += 8 * (dims - 2);
                line.push((x, y));
            }
            out.push(line);
            Ok(())
        }
        5 => {
            let n = u32_at(at)?;
            for _ in 0..n {
                read_geometry(w, at, out)?;
            }
            Ok(())
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wkb_line(code: u32, pts: &[[f64; 3]], dims: usize) -> Vec<u8> {
        let mut w = vec![1u8];
        w.extend(code.to_le_bytes());
        w.extend((pts.len() as u32).to_le_bytes());
        for p in pts {
            for v in &p[..dims] {
                w.extend(v.to_le_bytes());
            }
        }
        w
    }

    /// Case table: the WKB line shapes GeoPackages hold.
    #[test]
    fn wkb_case_table() {
        let pts: [[f64; 3]; 2] = [[1.0, 2.0, 9.0], [3.0, 4.0, 9.0]];
        for (code, dims) in [(2u32, 2usize), (1002, 3), (0x8000_0002, 3), (2002, 3), (3002, 4)] {
            let w = if dims == 4 {
                let mut w = vec![1u8];
                w.extend(code.to_le_bytes());
                w.extend(2u32.to_le_bytes());
                for p in &pts {
                    for v in [p[0], p[1], p[2], 0.0] {
                        w.extend(v.to_le_bytes());
                    }
                }
                w
            } else {
                wkb_line(code, &pts, dims)
            };
            let mut out = Vec::new();
            assert_eq!(wkb_lines(&w, &mut out), Ok(w.len()), "code {code}");
            assert_eq!(out, vec![vec![(1.0, 2.0), (3.0, 4.0)]], "code {code}");
        }
        // A MultiLineString Z of two lines.
        let mut multi = vec![1u8];
        multi.extend(1005u32.to_le_bytes());
        multi.extend(2u32.to_le_bytes());
        multi.extend(wkb_line(1002, &pts, 3));
        multi.extend(wkb_line(1002, &pts, 3));
        let mut out = Vec::new();
        assert!(wkb_lines(&multi, &mut out).is_ok());
        assert_eq!(out.len(), 2);
        // A point, a truncated line, a count larger than the bytes: refused, no panic.
        let mut out = Vec::new();
        assert!(wkb_lines(&wkb_line(1, &pts[..1], 2), &mut out).is_err());
        assert!(wkb_lines(&wkb_line(2, &pts, 2)[..20], &mut out).is_err());
        let mut huge = wkb_line(2, &pts, 2);
        huge[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(wkb_lines(&huge, &mut out).is_err());
    }

    #[test]
    fn formats_are_recognised_by_their_first_bytes() {
        assert_eq!(sniff(b"SQLite format 3\0...."), NetworkFormat::BdtopoGpkg);
        assert_eq!(sniff(b"\0\0\0\x0d\x0a\x09OSMHeader\x18"), NetworkFormat::OsmPbf);
        assert_eq!(sniff(b"{\"type\":\"FeatureCollection\""), NetworkFormat::Geojson);
    }

    /// Lambert-93 back to WGS84: the origin of the projection and a point of Nantes.
    #[test]
    fn lambert_93_reprojects() {
        let p = Reprojection::of(2154).unwrap();
        let (lon, lat) = p.lon_lat(700_000.0, 6_600_000.0).unwrap();
        assert!((lon - 3.0).abs() < 1e-9 && (lat - 46.5).abs() < 1e-9, "{lon} {lat}");
        assert!(Reprojection::of(27572).is_err(), "an unknown projection is an error");
    }
}
