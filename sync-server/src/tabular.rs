//! Reading the tables coordinators bring (address files, past results): text in UTF-8 or
//! Windows-1252, CSV with its delimiter guessed, columns found by a normalised name or a given
//! mapping, and the errors that name the line. Shared by the address import and the results
//! import; depends on nothing else of the server.

use std::collections::HashMap;

use serde::Serialize;

/// Lower case, accents removed, letters and digits only.
pub fn normalise(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// A row that could not be imported, by line (CSV, header = 1) or feature index (GeoJSON, from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RowError {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("unreadable CSV: {0}")]
    Csv(String),
    #[error("unreadable GeoJSON: {0}")]
    GeoJson(String),
    #[error("unreadable street network: {0}")]
    Streets(String),
    #[error("mapping names field {0:?}, which does not exist (fields: {1})")]
    UnknownField(String, String),
    #[error("mapping names column {0:?}, which is not in the file")]
    UnknownColumn(String),
    #[error("no column for {0}: map one (e.g. ?{1}=<column name>)")]
    Missing(&'static str, &'static str),
}

/// Text from bytes: UTF-8 (with or without a byte-order mark), else Windows-1252 read as Latin-1.
pub(crate) fn text_of(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A CSV text's reader, its delimiter guessed from the header line (comma, semicolon or tab), and
/// the header's trimmed names.
pub(crate) fn csv_reader(text: &str) -> Result<(csv::Reader<&[u8]>, Vec<String>), ImportError> {
    let first = text.lines().next().ok_or(ImportError::Empty)?;
    let delimiter =
        [b',', b';', b'\t'].into_iter().max_by_key(|d| first.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> =
        reader.headers().map_err(|e| ImportError::Csv(e.to_string()))?.iter().map(|h| h.trim().to_string()).collect();
    Ok((reader, header))
}

/// The columns a coordinator's mapping (field → column name) names, for the given `fields`.
pub(crate) fn mapped_columns(
    header: &[String],
    mapping: &HashMap<String, String>,
    fields: &[&'static str],
) -> Result<HashMap<&'static str, usize>, ImportError> {
    let mut out = HashMap::new();
    for (field, column) in mapping {
        let Some(&f) = fields.iter().find(|f| *f == field) else {
            return Err(ImportError::UnknownField(field.clone(), fields.join(", ")));
        };
        let at = header
            .iter()
            .position(|h| h == column || normalise(h) == normalise(column))
            .ok_or_else(|| ImportError::UnknownColumn(column.clone()))?;
        out.insert(f, at);
    }
    Ok(out)
}
