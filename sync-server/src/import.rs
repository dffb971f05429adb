//! Address and voter-file imports: CSV (comma, semicolon or tab; UTF-8 or Windows-1252) and GeoJSON
//! points, turned into buildings → entrances → doors → households → people.
//!
//! Columns are found by name: Doorstep's own (`street`, `housenumber`, …), the French Base Adresse
//! Nationale (`numero`, `rep`, `nom_voie`, `code_postal`, `nom_commune`), and a VAN walk-list export
//! (`Voter File VANID`, `LastName`, `FirstName`, `Address` or `StreetNo`/`StreetName`/`StreetType`,
//! `AptNo`, `City`, `Zip5`, `Latitude`, `Longitude`, `PrecinctName`). A mapping given by the
//! coordinator overrides any of them. Ids are derived from the normalised address, so importing
//! the same file twice changes nothing, and a later file adds new doors to the same buildings.
//!
//! An address-only campaign never stores people: person columns are ignored and the summary says so.

use std::collections::{HashMap, HashSet};

use doorstep_protocol::validate::{TextKind, check_text, validate_lat_lon};
use doorstep_protocol::{Building, CampaignMode, Door, Entrance, Household, Person};
use serde::Serialize;

use crate::store::Import;
pub use crate::tabular::{ImportError, RowError, normalise};
use crate::tabular::{csv_reader, mapped_columns, text_of};

/// Every field an import can fill, with the header names recognised for it (compared after
/// lower-casing, removing accents and anything not a letter or digit).
pub const FIELDS: &[(&str, &[&str])] = &[
    ("street", &["street", "nomvoie", "voie", "rue", "streetname"]),
    ("house_number", &["housenumber", "numero", "number", "num", "streetno", "numerovoie"]),
    ("house_number_suffix", &["rep", "suffix", "indicederepetition", "streetnohalf"]),
    ("street_prefix", &["streetprefix"]),
    ("street_type", &["streettype"]),
    ("street_suffix", &["streetsuffix"]),
    // A full address line; a geocoder's label (`geo_adresse`, `result_label`) also carries the
    // postcode and commune after the street, split off when those columns are empty.
    ("address", &["address", "adresse", "address1", "addressline1", "voteraddress", "geoadresse", "resultlabel"]),
    ("apartment", &["aptno", "apt", "apartment", "appartement", "logement", "porte", "unit"]),
    ("apartment_type", &["apttype"]),
    ("floor", &["floor", "etage"]),
    ("entrance", &["entrance", "batiment", "bat", "escalier", "entree"]),
    ("postcode", &["postcode", "codepostal", "cp", "zip", "zip5", "zipcode", "postalcode"]),
    ("city", &["city", "commune", "ville", "nomcommune"]),
    // The INSEE code of the commune (BAN `code_insee`, municipal files' `code_commune`, …).
    (
        "city_code",
        &["citycode", "codeinsee", "insee", "codecommune", "depcom", "inseecode", "codecommuneinsee", "codecommuneref"],
    ),
    ("lat", &["lat", "latitude"]),
    ("lon", &["lon", "lng", "long", "longitude"]),
    // The REU address file names the bureau `id_brut_bv_reu` (`69123_101`: commune and bureau).
    (
        "polling_station",
        &[
            "pollingstation",
            "bureau",
            "bureaudevote",
            "bv",
            "codebv",
            "precinct",
            "precinctname",
            "idbrutbvreu",
            "idbrutbv",
            "codebureauvote",
            "idbv",
        ],
    ),
    // What a geocoder found (BAN: `housenumber`, `street`, `locality`, `municipality`) and how sure
    // it was (0–1): the REU address file and any file geocoded through the BAN carry both.
    ("geocode_type", &["geotype", "resulttype"]),
    ("geocode_score", &["geoscore", "resultscore"]),
    ("person_id", &["vanid", "voterfilevanid", "personid", "idelecteur", "numeroelecteur"]),
    ("first_name", &["firstname", "prenom", "prenoms"]),
    ("last_name", &["lastname", "nom", "nomdusage", "nomnaissance"]),
    ("birth_year", &["birthyear", "anneenaissance", "dob", "datenaissance", "datedenaissance"]),
];

/// A row whose address (street, number, postcode, entrance, flat) an earlier row already gave.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DuplicateRow {
    pub line: usize,
    pub same_as_line: usize,
    pub address: String,
    /// How far apart the two rows' coordinates are: over 50 m, one of them is probably misplaced.
    pub distance_m: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Parsed {
    #[serde(skip)]
    pub import: Import,
    pub rows: usize,
    /// Which column fills which field.
    pub columns: Vec<(String, String)>,
    pub errors: Vec<RowError>,
    /// Said when person columns were present in an address-only campaign.
    pub people_ignored: bool,
    /// Rows that repeat an earlier row's address (merged into its door, never dropped unsaid).
    pub duplicates: Vec<DuplicateRow>,
    /// Rows with the same address in the same commune as an earlier row but more than
    /// [`KEEP_APART_M`] away from it: kept as a building of their own, never merged.
    pub kept_apart: Vec<DuplicateRow>,
}

/// A geocoded row below this score is refused: the BAN geocoder's own threshold for a sure match
/// is about 0.5, under it the point is often in another street or commune.
pub const MIN_GEOCODE_SCORE: f64 = 0.5;

/// Two rows with the same address in the same commune are one building only when their points
/// are within this distance; farther apart they stay two buildings (and are listed).
pub const KEEP_APART_M: f64 = 100.0;

/// Where a French campaign's addresses may lie: metropolitan France with Corsica, and the
/// overseas départements and collectivities — bounding boxes, so a point just across a border
/// passes; what they catch is a point in another country or ocean (a failed geocode at (0, 0),
/// swapped latitude and longitude).
pub const FRANCE: &[(&str, f64, f64, f64, f64)] = &[
    // (name, south, north, west, east)
    ("France métropolitaine", 41.2, 51.2, -5.3, 9.7),
    ("Guadeloupe", 15.8, 16.6, -61.9, -60.9),
    ("Martinique", 14.3, 14.9, -61.3, -60.8),
    ("Guyane", 2.1, 5.8, -54.7, -51.6),
    ("La Réunion", -21.4, -20.8, 55.2, 55.9),
    ("Mayotte", -13.1, -12.6, 45.0, 45.4),
    ("Saint-Pierre-et-Miquelon", 46.7, 47.2, -56.5, -56.1),
    ("Saint-Martin, Saint-Barthélemy", 17.8, 18.2, -63.2, -62.7),
    ("Nouvelle-Calédonie", -22.8, -19.5, 163.5, 168.2),
    ("Polynésie française", -28.0, -7.8, -154.8, -134.4),
    ("Wallis-et-Futuna", -14.4, -13.1, -178.3, -176.0),
];

pub fn in_france(lat: f64, lon: f64) -> bool {
    FRANCE.iter().any(|(_, s, n, w, e)| (*s..=*n).contains(&lat) && (*w..=*e).contains(&lon))
}

/// A file of at least this many rows is checked for rows far from all the others.
pub const ISOLATION_MIN_ROWS: usize = 20;
/// Grid cells of this many degrees: a row with no other row in its cell or the eight around it
/// is more than about 20 km from every other address of the file.
const ISOLATION_CELL_DEG: f64 = 0.2;

fn cell(lat: f64, lon: f64) -> (i64, i64) {
    ((lat / ISOLATION_CELL_DEG).floor() as i64, (lon / ISOLATION_CELL_DEG).floor() as i64)
}

/// The lines whose point has no other row of the file within about 20 km (a file of at least
/// [`ISOLATION_MIN_ROWS`] rows): an address 700 km from the campaign is a mistake to show, not a
/// door to route to.
fn isolated_lines(points: &[(usize, f64, f64)]) -> foldhash::HashSet<usize> {
    if points.len() < ISOLATION_MIN_ROWS {
        return Default::default();
    }
    let mut counts: foldhash::HashMap<(i64, i64), usize> = Default::default();
    for (_, lat, lon) in points {
        *counts.entry(cell(*lat, *lon)).or_default() += 1;
    }
    points
        .iter()
        .filter(|(_, lat, lon)| {
            let (a, b) = cell(*lat, *lon);
            let around: usize =
                (-1..=1).flat_map(|i| (-1..=1).map(move |j| (a + i, b + j))).filter_map(|c| counts.get(&c)).sum();
            around <= 1
        })
        .map(|(line, _, _)| *line)
        .collect()
}

/// Metres between two WGS84 points (equirectangular: exact enough within a town).
fn metres(lat0: f64, lon0: f64, lat: f64, lon: f64) -> f64 {
    let kx = 111_132.0 * lat.to_radians().cos();
    (((lon - lon0) * kx).powi(2) + ((lat - lat0) * 111_132.0).powi(2)).sqrt()
}

fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Resolves which column index fills each field.
/// Field → column. Looked up for every field of every row: foldhash, not SipHash.
type Columns = foldhash::HashMap<&'static str, usize>;

fn resolve(header: &[String], mapping: &HashMap<String, String>) -> Result<Columns, ImportError> {
    let names: Vec<&'static str> = FIELDS.iter().map(|(f, _)| *f).collect();
    let mut out: Columns = mapped_columns(header, mapping, &names)?.into_iter().collect();
    for (field, aliases) in FIELDS {
        if out.contains_key(field) {
            continue;
        }
        if let Some(at) = header.iter().position(|h| aliases.contains(&normalise(h).as_str())) {
            // A column already mapped to another field is not reused.
            if !out.values().any(|&v| v == at) {
                out.insert(*field, at);
            }
        }
    }
    Ok(out)
}

/// Splits `12 bis rue de la Paix` into (`12 BIS`, `rue de la Paix`).
fn split_address(line: &str) -> (String, String) {
    let line = line.trim();
    let digits: String = line.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return (String::new(), line.to_string());
    }
    let rest = line[digits.len()..].trim_start_matches([',', ' ']);
    let mut words = rest.splitn(2, ' ');
    let first = words.next().unwrap_or("");
    let suffix = ["bis", "ter", "quater", "a", "b", "c", "d"];
    if suffix.contains(&first.to_lowercase().as_str()) && words.clone().next().is_some() {
        (format!("{digits} {}", first.to_uppercase()), words.next().unwrap_or("").trim().to_string())
    } else {
        (digits, rest.trim().to_string())
    }
}

/// Splits a geocoder's label, `12 Rue de la Paix 69002 Lyon`, into the address line, the postcode
/// and the commune; a line with no five-digit postcode after its first word is returned whole.
fn split_label(label: &str) -> (String, Option<(String, String)>) {
    let words: Vec<&str> = label.split_whitespace().collect();
    let at = words
        .iter()
        .enumerate()
        .skip(1)
        .rev()
        .find(|(i, w)| *i + 1 < words.len() && w.len() == 5 && w.chars().all(|c| c.is_ascii_digit()))
        .map(|(i, _)| i);
    match at {
        Some(i) => (words[..i].join(" "), Some((words[i].to_string(), words[i + 1..].join(" ")))),
        None => (label.trim().to_string(), None),
    }
}

struct Builder<'a> {
    campaign_id: &'a str,
    mode: CampaignMode,
    out: Parsed,
    // Maps of a million keys or more: foldhash (seeded per map) instead of SipHash, which took
    // a tenth of a million-row import.
    buildings: foldhash::HashMap<String, usize>,
    entrances: foldhash::HashSet<String>,
    people: foldhash::HashSet<String>,
    /// Per door: the line that brought it and its coordinates.
    first_seen: foldhash::HashMap<String, (usize, f64, f64)>,
    /// Per address key (street, number, commune): the line that first gave it and its point.
    first_of_address: foldhash::HashMap<String, (usize, f64, f64)>,
    /// Lines far from every other row of the file ([`isolated_lines`]).
    isolated: foldhash::HashSet<usize>,
}

/// The text fields of an address or voter-file row.
const TEXT_FIELDS: &[&str] = &[
    "address",
    "apartment",
    "apartment_type",
    "birth_year",
    "city",
    "city_code",
    "entrance",
    "first_name",
    "floor",
    "geocode_score",
    "geocode_type",
    "house_number",
    "house_number_suffix",
    "last_name",
    "person_id",
    "polling_station",
    "postcode",
    "street",
    "street_prefix",
    "street_type",
    "street_suffix",
];

impl Builder<'_> {
    fn row(&mut self, line: usize, get: &dyn Fn(&str) -> String) {
        if let Err(reason) = self.try_row(line, get) {
            self.out.errors.push(RowError { line, reason });
        }
        self.out.rows += 1;
    }

    fn try_row(&mut self, line: usize, get: &dyn Fn(&str) -> String) -> Result<(), String> {
        // Every text an import stores: no control characters, names within the rule book's
        // limits (the error names the field, never echoes the value).
        for field in TEXT_FIELDS {
            let kind = if field.ends_with("_id") { TextKind::Id } else { TextKind::Name };
            check_text(field, &get(field), kind).map_err(|e| e.to_string())?;
        }
        let (mut number, mut street) = (get("house_number"), get("street"));
        let parts: Vec<String> = ["street_prefix", "street", "street_type", "street_suffix"]
            .iter()
            .map(|f| get(f))
            .filter(|s| !s.is_empty())
            .collect();
        if parts.len() > 1 {
            street = parts.join(" ");
        }
        let (mut postcode, mut city) = (get("postcode"), get("city"));
        if street.is_empty() {
            let (line, rest) = split_label(&get("address"));
            if let Some((p, c)) = rest {
                if postcode.is_empty() {
                    postcode = p;
                }
                if city.is_empty() {
                    city = c;
                }
            }
            let (n, s) = split_address(&line);
            if number.is_empty() {
                number = n;
            }
            street = s;
        }
        let kind = get("geocode_type");
        if !kind.is_empty() && kind != "housenumber" {
            return Err(format!(
                "géocodée à « {kind} », pas au numéro : pas de porte où frapper / geocoded to the {kind}, not to a house number"
            ));
        }
        if let Ok(score) = get("geocode_score").replace(',', ".").parse::<f64>()
            && score < MIN_GEOCODE_SCORE
        {
            return Err(format!(
                "géocodage incertain (score {score:.2} < {MIN_GEOCODE_SCORE}) / uncertain geocoding (score {score:.2})"
            ));
        }
        let suffix = get("house_number_suffix");
        if !suffix.is_empty() {
            number = format!("{number} {}", suffix.to_uppercase());
        }
        if street.is_empty() {
            return Err("pas de voie / no street".into());
        }
        let (lat, lon) = (get("lat").replace(',', "."), get("lon").replace(',', "."));
        let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) else {
            return Err("pas de coordonnées (géocoder d'abord) / no coordinates: geocode first".into());
        };
        validate_lat_lon(lat, lon).map_err(|e| e.to_string())?;
        if lat == 0.0 && lon == 0.0 {
            return Err("coordonnées 0,0 / coordinates 0,0".into());
        }
        if !in_france(lat, lon) {
            return Err(if in_france(lon, lat) {
                format!("latitude et longitude inversées ? ({lat}, {lon}) / latitude and longitude swapped?")
            } else {
                format!("coordonnées hors de France ({lat}, {lon}) / coordinates outside France")
            });
        }
        if self.isolated.contains(&line) {
            return Err(format!(
                "à plus de 20 km de toute autre adresse du fichier ({lat}, {lon}) / over 20 km from every other address of the file"
            ));
        }
        // An address belongs to its commune: "1 Allée des Camélias" in five communes is five
        // buildings. The INSEE code says which commune; without one, its name and postcode do.
        let city_code = get("city_code");
        let commune = if city_code.is_empty() {
            format!("{}|{}", normalise(&city), normalise(&postcode))
        } else {
            format!("insee:{}", normalise(&city_code))
        };
        let key = format!("{}|{}|{}", normalise(&street), normalise(&number), commune);
        let mut building_id = format!("{}:b:{}", self.campaign_id, fnv(&key));
        match self.first_of_address.get(&key) {
            Some(&(same_as_line, lat0, lon0)) => {
                let d = metres(lat0, lon0, lat, lon);
                if d > KEEP_APART_M {
                    // Same address, another place: its own building, named by where it is.
                    building_id = format!("{}:b:{}", self.campaign_id, fnv(&format!("{key}@{lat:.3},{lon:.3}")));
                    self.out.kept_apart.push(DuplicateRow {
                        line,
                        same_as_line,
                        address: format!("{} {}", number.trim(), street.trim()),
                        distance_m: d.round(),
                    });
                }
            }
            None => {
                self.first_of_address.insert(key.clone(), (line, lat, lon));
            }
        }
        if !self.buildings.contains_key(&building_id) {
            self.buildings.insert(building_id.clone(), self.out.import.buildings.len());
            let station = get("polling_station");
            self.out.import.buildings.push(Building {
                id: building_id.clone(),
                street: street.trim().to_string(),
                house_number: number.trim().to_string(),
                postcode,
                city,
                polling_station: (!station.is_empty()).then_some(station),
                lat,
                lon,
            });
        }
        let entrance_label = get("entrance");
        let entrance_id =
            (!entrance_label.is_empty()).then(|| format!("{building_id}:e:{}", fnv(&normalise(&entrance_label))));
        if let Some(e) = &entrance_id
            && self.entrances.insert(e.clone())
        {
            self.out.import.entrances.push(Entrance {
                id: e.clone(),
                building_id: building_id.clone(),
                label: entrance_label.clone(),
                digicode: None,
                interphone: None,
                caretaker: None,
                notes: None,
            });
        }
        let apt =
            [get("apartment_type"), get("apartment")].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>();
        let apt = apt.join(" ");
        let floor = get("floor");
        let floor_n = if floor.is_empty() {
            None
        } else {
            Some(
                floor
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| format!("étage {floor:?} n'est pas un nombre / floor is not a number"))?,
            )
        };
        let door_key = format!("{}|{}|{}", normalise(&entrance_label), normalise(&apt), floor);
        let door_id =
            if door_key == "||" { format!("{building_id}:d") } else { format!("{building_id}:d:{}", fnv(&door_key)) };
        let (first, last, pid) = (get("first_name"), get("last_name"), get("person_id"));
        let no_person = first.is_empty() && last.is_empty() && pid.is_empty();
        match self.first_seen.get(&door_id) {
            // The same door again with nobody new in it: a repeated address, merged and said.
            Some(&(same_as_line, lat0, lon0)) if no_person || self.mode == CampaignMode::AddressOnly => {
                self.out.duplicates.push(DuplicateRow {
                    line,
                    same_as_line,
                    address: format!("{} {}", number.trim(), street.trim()),
                    distance_m: metres(lat0, lon0, lat, lon).round(),
                });
            }
            Some(_) => {}
            None => {
                self.first_seen.insert(door_id.clone(), (line, lat, lon));
                // (first_seen holds every door once: no second set of the same ids.)
                self.out.import.doors.push(Door {
                    id: door_id.clone(),
                    building_id: building_id.clone(),
                    entrance_id,
                    floor: floor_n,
                    label: apt,
                    safety_flags: vec![],
                });
            }
        }
        if no_person {
            return Ok(());
        }
        if self.mode == CampaignMode::AddressOnly {
            self.out.people_ignored = true;
            return Ok(());
        }
        let birth = get("birth_year");
        let birth_year = birth
            .split(['-', '/'])
            .find(|p| p.len() == 4)
            .and_then(|y| y.parse::<i32>().ok())
            .filter(|y| (1880..=2030).contains(y));
        let person_id = if pid.is_empty() {
            format!(
                "{}:p:{}",
                self.campaign_id,
                fnv(&format!("{door_id}|{}|{}|{birth}", normalise(&first), normalise(&last)))
            )
        } else {
            format!("{}:p:{}", self.campaign_id, pid.trim())
        };
        if !self.people.insert(person_id.clone()) {
            return Err(format!("personne en double / duplicate person {}", pid.trim()));
        }
        let household_id = format!("{door_id}:h");
        if !self.out.import.households.iter().any(|h| h.id == household_id) {
            self.out.import.households.push(Household { id: household_id.clone(), door_id: door_id.clone() });
        }
        let display_name =
            [first.trim(), last.trim()].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ");
        self.out.import.people.push(Person { id: person_id, household_id, display_name, birth_year });
        Ok(())
    }
}

fn builder(campaign_id: &str, mode: CampaignMode) -> Builder<'_> {
    Builder {
        campaign_id,
        mode,
        out: Parsed::default(),
        buildings: Default::default(),
        entrances: Default::default(),
        people: Default::default(),
        first_seen: Default::default(),
        first_of_address: Default::default(),
        isolated: Default::default(),
    }
}

fn require(cols: &Columns) -> Result<(), ImportError> {
    if !cols.contains_key("street") && !cols.contains_key("address") {
        return Err(ImportError::Missing("the street (or a full address line)", "street"));
    }
    if !cols.contains_key("lat") || !cols.contains_key("lon") {
        return Err(ImportError::Missing("latitude and longitude", "lat"));
    }
    Ok(())
}

/// Parses a CSV file. `mapping` is field → column name.
pub fn parse_csv(
    bytes: &[u8],
    mapping: &HashMap<String, String>,
    campaign_id: &str,
    mode: CampaignMode,
) -> Result<Parsed, ImportError> {
    let text = text_of(bytes);
    let (mut reader, header) = csv_reader(&text)?;
    let cols = resolve(&header, mapping)?;
    require(&cols)?;
    let mut b = builder(campaign_id, mode);
    // Two readings of the text, no record kept in between: the points first (for rows far from
    // all others), then the rows (a million kept records cost more to allocate than to re-read).
    let (lat_at, lon_at) = (cols["lat"], cols["lon"]);
    let mut points: Vec<(usize, f64, f64)> = Vec::new();
    let mut rec = csv::StringRecord::new();
    let mut i = 0usize;
    while reader.read_record(&mut rec).unwrap_or(true) {
        let num = |at: usize| rec.get(at).and_then(|v| v.trim().replace(',', ".").parse::<f64>().ok());
        if let (Some(lat), Some(lon)) = (num(lat_at), num(lon_at))
            && lat.is_finite()
            && lon.is_finite()
        {
            points.push((i + 2, lat, lon));
        }
        i += 1;
    }
    b.isolated = isolated_lines(&points);
    drop(points);
    let (mut reader, _) = csv_reader(&text)?;
    let mut line = 1;
    loop {
        line += 1;
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let get = |f: &str| cols.get(f).and_then(|&at| rec.get(at)).unwrap_or("").trim().to_string();
                b.row(line, &get);
            }
            Err(e) => {
                b.out.rows += 1;
                b.out.errors.push(RowError { line, reason: e.to_string() });
            }
        }
    }
    if b.out.rows == 0 {
        return Err(ImportError::Empty);
    }
    b.out.columns = described(&cols, &header);
    Ok(b.out)
}

fn described(cols: &Columns, header: &[String]) -> Vec<(String, String)> {
    FIELDS.iter().filter_map(|(f, _)| cols.get(f).map(|&at| (f.to_string(), header[at].clone()))).collect()
}

/// Parses a GeoJSON FeatureCollection of points; properties are read like CSV columns.
pub fn parse_geojson(
    bytes: &[u8],
    mapping: &HashMap<String, String>,
    campaign_id: &str,
    mode: CampaignMode,
) -> Result<Parsed, ImportError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ImportError::GeoJson(e.to_string()))?;
    if v["type"] != "FeatureCollection" {
        return Err(ImportError::GeoJson("expected a FeatureCollection".into()));
    }
    let features = v["features"].as_array().ok_or_else(|| ImportError::GeoJson("no features array".into()))?;
    let mut header: Vec<String> = vec!["__lat".into(), "__lon".into()];
    // Every property name once, in order of first appearance (linear in the file).
    let mut seen: HashSet<&str> = HashSet::new();
    for f in features {
        if let Some(p) = f["properties"].as_object() {
            for k in p.keys() {
                if seen.insert(k.as_str()) {
                    header.push(k.clone());
                }
            }
        }
    }
    let mut mapping = mapping.clone();
    mapping.entry("lat".into()).or_insert_with(|| "__lat".into());
    mapping.entry("lon".into()).or_insert_with(|| "__lon".into());
    let cols = resolve(&header, &mapping)?;
    require(&cols)?;
    let mut b = builder(campaign_id, mode);
    let points: Vec<(usize, f64, f64)> = features
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let c = &f["geometry"]["coordinates"];
            Some((i + 1, c[1].as_f64()?, c[0].as_f64()?))
        })
        .collect();
    b.isolated = isolated_lines(&points);
    for (i, f) in features.iter().enumerate() {
        let line = i + 1;
        let coords = &f["geometry"]["coordinates"];
        if f["geometry"]["type"] != "Point" || !coords[0].is_number() || !coords[1].is_number() {
            b.out.rows += 1;
            b.out.errors.push(RowError { line, reason: "pas un point / not a Point geometry".into() });
            continue;
        }
        let get = |field: &str| -> String {
            let Some(&at) = cols.get(field) else { return String::new() };
            match header[at].as_str() {
                "__lat" => coords[1].to_string(),
                "__lon" => coords[0].to_string(),
                key => match &f["properties"][key] {
                    serde_json::Value::String(s) => s.trim().to_string(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                },
            }
        };
        b.row(line, &get);
    }
    if b.out.rows == 0 {
        return Err(ImportError::Empty);
    }
    b.out.columns = described(&cols, &header);
    Ok(b.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Case table: a geocoder's label split into address line, postcode and commune.
    #[test]
    fn labels_split_case_table() {
        let some = |l: &str, p: &str, c: &str| (l.to_string(), Some((p.to_string(), c.to_string())));
        let cases = [
            ("12 Rue de la Paix 69002 Lyon", some("12 Rue de la Paix", "69002", "Lyon")),
            ("3 bis Avenue du 8 Mai 1945 13015 Marseille", some("3 bis Avenue du 8 Mai 1945", "13015", "Marseille")),
            ("Rue des Fargues 69001 Lyon", some("Rue des Fargues", "69001", "Lyon")),
            ("1 Rue X 44000 Saint-Herblain Cedex", some("1 Rue X", "44000", "Saint-Herblain Cedex")),
            ("12 Rue de la Paix", ("12 Rue de la Paix".to_string(), None)),
            ("69001 Lyon", ("69001 Lyon".to_string(), None)),
            ("10 Rue 75001", ("10 Rue 75001".to_string(), None)),
        ];
        for (label, want) in cases {
            assert_eq!(split_label(label), want, "{label}");
        }
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn van_walk_list_columns_are_recognised() {
        let csv = "Voter File VANID,LastName,FirstName,Address,City,State,Zip5,AptNo,Latitude,Longitude,PrecinctName\n\
                   1001,Martin,Léa,12 bis rue de la Paix,Nantes,FR,44000,3,47.21,-1.55,BV 12\n\
                   1002,Martin,Jean,12 bis rue de la Paix,Nantes,FR,44000,3,47.21,-1.55,BV 12\n\
                   1003,Durand,Ali,14 rue de la Paix,Nantes,FR,44000,,47.2101,-1.5501,BV 12\n";
        let p = parse_csv(csv.as_bytes(), &HashMap::new(), "c", CampaignMode::VoterFile).unwrap();
        assert_eq!(p.errors, vec![]);
        assert_eq!(p.import.buildings.len(), 2);
        assert_eq!(p.import.buildings[0].house_number, "12 BIS");
        assert_eq!(p.import.buildings[0].street, "rue de la Paix");
        assert_eq!(p.import.buildings[0].polling_station.as_deref(), Some("BV 12"));
        assert_eq!(p.import.doors.len(), 2);
        assert_eq!(p.import.doors[0].label, "3");
        assert_eq!(p.import.households.len(), 2);
        assert_eq!(p.import.people.len(), 3);
        assert_eq!(p.import.people[0].id, "c:p:1001");
        assert_eq!(p.import.people[0].display_name, "Léa Martin");
        // The same file in an address-only campaign keeps no one.
        let p = parse_csv(csv.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert!(p.import.people.is_empty() && p.people_ignored);
    }

    #[test]
    fn ban_semicolons_latin1_and_explicit_mapping() {
        let mut bytes = b"numero;rep;nom_voie;code_postal;nom_commune;y;x\n".to_vec();
        bytes.extend_from_slice(b"3;;all\xe9e des Tilleuls;44000;Nantes;47,2;-1,5\n");
        let m = map(&[("lat", "y"), ("lon", "x")]);
        let p = parse_csv(&bytes, &m, "c", CampaignMode::AddressOnly).unwrap();
        assert_eq!(p.errors, vec![]);
        assert_eq!(p.import.buildings[0].street, "allée des Tilleuls");
        assert!((p.import.buildings[0].lat - 47.2).abs() < 1e-9);
        assert_eq!(
            parse_csv(&bytes, &HashMap::new(), "c", CampaignMode::AddressOnly),
            Err(ImportError::Missing("latitude and longitude", "lat"))
        );
        assert!(matches!(
            parse_csv(&bytes, &map(&[("colour", "x")]), "c", CampaignMode::AddressOnly),
            Err(ImportError::UnknownField(..))
        ));
        assert!(matches!(
            parse_csv(&bytes, &map(&[("lat", "nope")]), "c", CampaignMode::AddressOnly),
            Err(ImportError::UnknownColumn(..))
        ));
    }

    #[test]
    fn bad_rows_are_listed_by_line() {
        let csv = "street,housenumber,lat,lon\nRue A,1,47.2,-1.5\n,2,47.2,-1.5\nRue B,3,95,-1.5\nRue C,4,,\n";
        let p = parse_csv(csv.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert_eq!(p.import.buildings.len(), 1);
        assert_eq!(p.errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![3, 4, 5]);
    }

    /// The same street and number: in two communes (by INSEE code, or by name without one), two
    /// buildings; twice in one commune a few metres apart, one building and the merge listed; twice
    /// in one commune 300 m apart, two buildings and listed.
    #[test]
    fn an_address_belongs_to_its_commune() {
        let ban = "id;numero;rep;nom_voie;code_postal;code_insee;nom_commune;lon;lat
a;1;;Allée des Camélias;69500;69029;Bron;4.9100;45.7300
b;1;;Allée des Camélias;69500;69290;Saint-Priest;4.9400;45.7000
c;1;;Allée des Camélias;69500;69029;Bron;4.91002;45.73001
d;1;;Allée des Camélias;69500;69029;Bron;4.9100;45.7327
";
        let p = parse_csv(ban.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert!(p.columns.iter().any(|(f, c)| f == "city_code" && c == "code_insee"), "{:?}", p.columns);
        assert_eq!(p.import.buildings.len(), 3, "Bron, Saint-Priest, and Bron 300 m away");
        assert_eq!(p.duplicates.iter().map(|d| (d.line, d.same_as_line)).collect::<Vec<_>>(), vec![(4, 2)]);
        assert_eq!(p.kept_apart.iter().map(|d| (d.line, d.same_as_line)).collect::<Vec<_>>(), vec![(5, 2)]);
        assert!((290.0..310.0).contains(&p.kept_apart[0].distance_m), "{:?}", p.kept_apart);
        // Municipal files: no code, no postcode, the commune's name.
        let muni =
            "street,housenumber,city,lat,lon\nRue Pasteur,4,BRON,45.73,4.91\nRue Pasteur,4,VILLEURBANNE,45.77,4.88\n";
        let p = parse_csv(muni.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert_eq!(p.import.buildings.len(), 2);
        // The same file again gives the same ids.
        let again = parse_csv(ban.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        let ids = |p: &Parsed| p.import.buildings.iter().map(|b| b.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&again),
            ids(&parse_csv(ban.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap())
        );
    }

    /// Rows that cannot be right are refused by line: outside France, latitude and longitude
    /// swapped, (0, 0), 700 km from every other row; overseas addresses are French.
    #[test]
    fn rows_that_cannot_be_right() {
        let mut csv = String::from("street,housenumber,city,lat,lon\n");
        for i in 0..25 {
            csv.push_str(&format!("Rue de Nantes,{i},NANTES,{},{}\n", 47.21 + f64::from(i) * 1e-4, -1.55));
        }
        csv.push_str("Rue Inversée,1,NANTES,-1.55,47.21\n"); // line 27
        csv.push_str("Rue Nulle,1,NANTES,0,0\n"); // 28
        csv.push_str("Via Roma,1,ROMA,41.9,12.5\n"); // 29
        csv.push_str("Rue de Strasbourg,1,STRASBOURG,48.58,7.75\n"); // 30: in France, 700 km from the rest
        csv.push_str("Rue de Saint-Denis,1,SAINT-DENIS,-20.88,55.45\n"); // 31: La Réunion, alone too
        let p = parse_csv(csv.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        let why: Vec<(usize, &str)> = p.errors.iter().map(|e| (e.line, e.reason.as_str())).collect();
        assert_eq!(why.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![27, 28, 29, 30, 31], "{why:?}");
        assert!(why[0].1.contains("inversées"), "{why:?}");
        assert!(why[2].1.contains("hors de France"), "{why:?}");
        assert!(why[3].1.contains("20 km"), "{why:?}");
        assert_eq!(p.import.buildings.len(), 25);
        // A small file is not judged on distances; overseas is France.
        let small = "street,housenumber,lat,lon\nRue de Saint-Denis,1,-20.88,55.45\nRue de Brest,1,48.39,-4.49\n";
        let p = parse_csv(small.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
    }

    /// The Base Adresse Nationale's CSV per département, with its published header whole (`;`,
    /// Lambert-93 `x`/`y` beside WGS84 `lon`/`lat`, the INSEE code): every field found.
    #[test]
    fn the_ban_csv_layout() {
        let ban = "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;certification_commune;cad_parcelles
44109_3120_00012;44109_3120;12;bis;Rue Bisson;44100;44109;Nantes;;;353000.1;6690000.2;-1.5715;47.2120;entrée;;;NANTES;RUE BISSON;commune;commune;1;44109000AB0012
44109_3120_00014;44109_3120;14;;Rue Bisson;44100;44109;Nantes;;;353010.1;6690010.2;-1.5714;47.2121;entrée;;;NANTES;RUE BISSON;commune;commune;1;
";
        let p = parse_csv(ban.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let cols: HashMap<&str, &str> = p.columns.iter().map(|(f, c)| (f.as_str(), c.as_str())).collect();
        for (field, column) in [
            ("house_number", "numero"),
            ("house_number_suffix", "rep"),
            ("street", "nom_voie"),
            ("postcode", "code_postal"),
            ("city_code", "code_insee"),
            ("city", "nom_commune"),
            ("lat", "lat"),
            ("lon", "lon"),
        ] {
            assert_eq!(cols.get(field), Some(&column), "{field} in {cols:?}");
        }
        let b = &p.import.buildings[0];
        assert_eq!((b.house_number.as_str(), b.street.as_str(), b.city.as_str()), ("12 BIS", "Rue Bisson", "Nantes"));
    }

    #[test]
    fn control_characters_and_long_names_are_refused_by_line() {
        let long = "x".repeat(201);
        let csv = format!(
            "street,housenumber,city,lat,lon\nRue A,1,Nantes,47.2,-1.5\nRue{esc}[2J,2,Nantes,47.2,-1.5\n{long},3,Nantes,47.2,-1.5\nRue D,4,{long},47.2,-1.5\n",
            esc = '\u{1b}'
        );
        let p = parse_csv(csv.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert_eq!(p.import.buildings.len(), 1);
        assert_eq!(p.errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert!(p.errors.iter().all(|e| !e.reason.contains(&long) && e.reason.len() < 80), "{:?}", p.errors);
    }

    #[test]
    fn geojson_points() {
        let g = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[-1.55,47.21]},"properties":{"street":"Quai X","housenumber":7,"postcode":"44000"}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{}}]}"#;
        let p = parse_geojson(g.as_bytes(), &HashMap::new(), "c", CampaignMode::AddressOnly).unwrap();
        assert_eq!(p.import.buildings.len(), 1);
        assert_eq!(p.import.buildings[0].house_number, "7");
        assert!((p.import.buildings[0].lon + 1.55).abs() < 1e-9);
        assert_eq!(p.errors.len(), 1);
    }
}
