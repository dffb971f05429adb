//! Text that a device, an import or a staff member may store: no NUL and no control characters
//! (a NUL byte made PostgreSQL fail with a 500; control characters hide text in exports and
//! terminals), and a length limit per kind of field. Error messages name the field and the rule,
//! never echo the input.

/// Longest free-text answer or note, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest id (report, turf, door, device, result code…), in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Longest name (a person, a street, a team, a turf, a campaign), in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The kind of field, which decides its length and whether it may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// An identifier: one line, at most [`MAX_ID_CHARS`].
    Id,
    /// A name or label: one line, at most [`MAX_NAME_CHARS`].
    Name,
    /// A note or a free-text answer: line breaks and tabs allowed, at most [`MAX_TEXT_CHARS`].
    Free,
}

impl TextKind {
    pub fn max_chars(self) -> usize {
        match self {
            TextKind::Id => MAX_ID_CHARS,
            TextKind::Name => MAX_NAME_CHARS,
            TextKind::Free => MAX_TEXT_CHARS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field}: control characters (NUL, escape…) are not allowed")]
    ControlCharacter { field: String },
    #[error("{field}: longer than {max} characters")]
    TooLong { field: String, max: usize },
}

/// Whether `c` is a control character no stored text may hold. Tab, line feed and carriage return
/// are allowed in free text only.
pub fn is_forbidden_char(c: char, kind: TextKind) -> bool {
    let layout = matches!(c, '\t' | '\n' | '\r');
    (c.is_control() && !(layout && kind == TextKind::Free)) || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Checks one field. `field` names it in the error (never the value).
pub fn check_text(field: &str, value: &str, kind: TextKind) -> Result<(), TextError> {
    if value.chars().any(|c| is_forbidden_char(c, kind)) {
        return Err(TextError::ControlCharacter { field: field.to_string() });
    }
    let max = kind.max_chars();
    if value.chars().count() > max {
        return Err(TextError::TooLong { field: field.to_string(), max });
    }
    Ok(())
}

/// Whether any string inside a JSON value holds a NUL or another control character that no field
/// may hold (free-text layout characters aside): the server refuses such bodies with a 422 before
/// anything reads them, whatever the route.
pub fn json_has_forbidden_chars(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.chars().any(|c| is_forbidden_char(c, TextKind::Free)),
        serde_json::Value::Array(a) => a.iter().any(json_has_forbidden_chars),
        serde_json::Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.chars().any(|c| is_forbidden_char(c, TextKind::Free)) || json_has_forbidden_chars(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_table() {
        use TextKind::*;
        let long_name = "é".repeat(MAX_NAME_CHARS + 1);
        let cases: &[(&str, TextKind, bool)] = &[
            ("Rue Bisson", Name, true),
            ("Léa Dupont-Martin", Name, true),
            ("a\u{0}b", Name, false),
            ("a\u{0}b", Free, false),
            ("ligne 1\nligne 2\ttab\r\n", Free, true),
            ("ligne 1\nligne 2", Name, false),
            ("\tindent", Id, false),
            ("esc\u{1b}[31m", Free, false),
            ("del\u{7f}", Free, false),
            ("c1\u{85}", Free, false),
            ("bom\u{feff}", Free, false),
            ("sep\u{2028}", Free, false),
            (&long_name, Name, false),
            (&long_name, Free, true),
            ("😀 emoji", Free, true),
        ];
        for (i, (value, kind, ok)) in cases.iter().enumerate() {
            assert_eq!(check_text("f", value, *kind).is_ok(), *ok, "case {i}: {value:?} as {kind:?}");
        }
    }

    #[test]
    fn errors_do_not_echo_the_input() {
        let secret = format!("mot de passe\u{0}{}", "x".repeat(5000));
        for kind in [TextKind::Id, TextKind::Name, TextKind::Free] {
            let e = check_text("note", &secret, kind).unwrap_err().to_string();
            assert!(!e.contains("mot de passe") && e.len() < 80, "{e}");
        }
    }

    #[test]
    fn json_bodies() {
        let ok: serde_json::Value = serde_json::json!({"a": ["x\ny", {"b": "c"}], "n": 1});
        assert!(!json_has_forbidden_chars(&ok));
        assert!(json_has_forbidden_chars(&serde_json::json!({"a": ["x", {"b": "c\u{0}"}]})));
        assert!(json_has_forbidden_chars(&serde_json::json!({"k\u{0}": 1})));
    }
}
