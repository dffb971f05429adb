//! The invitation link a volunteer's app opens to join — `doorstep://join?server=…&code=…`, the QR
//! code a captain shows — or a code typed by hand when the server is known. Written once: the
//! server makes links with [`JoinLink::to_uri`], the phone reads them with [`JoinLink::parse`]
//! (exported to the shells through the FFI, so Kotlin and Swift hold no parser of their own).
//! Percent-encoding comes from the `url` crate.

use url::Url;

/// Where to join and with which one-time code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct JoinLink {
    /// `http://` or `https://`, without a trailing slash.
    pub server_url: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinLinkError {
    #[error("ce n'est pas une invitation Doorstep / not a Doorstep invitation")]
    NotALink,
    #[error("l'invitation ne dit pas à quel serveur se joindre / the invitation names no server")]
    NoServer,
    #[error("l'adresse du serveur doit commencer par http:// ou https:// / the server must be http:// or https://")]
    BadServer,
    #[error("code d'invitation absent ou mal formé / missing or malformed join code")]
    BadCode,
}

/// Longest code accepted (codes are 10 characters with a dash; leave room for typing).
const MAX_CODE: usize = 32;

fn check_code(code: &str) -> Result<String, JoinLinkError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let ok =
        (4..=MAX_CODE).contains(&code.chars().count()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(code) } else { Err(JoinLinkError::BadCode) }
}

fn check_server(server: &str) -> Result<String, JoinLinkError> {
    let s = server.trim().trim_end_matches('/');
    let parsed = Url::parse(s).map_err(|_| JoinLinkError::BadServer)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(JoinLinkError::BadServer);
    }
    Ok(s.to_string())
}

impl JoinLink {
    /// Reads a scanned link, or a typed code when `server` (the last server used) is known. A
    /// link's own server wins over `server`.
    pub fn parse(input: &str, server: Option<&str>) -> Result<Self, JoinLinkError> {
        let text = input.trim();
        if text.starts_with("doorstep:") {
            let url = Url::parse(text).map_err(|_| JoinLinkError::NotALink)?;
            if url.scheme() != "doorstep" || url.host_str() != Some("join") {
                return Err(JoinLinkError::NotALink);
            }
            let (mut link_server, mut code) = (None, None);
            for (k, v) in url.query_pairs() {
                match k.as_ref() {
                    "server" => link_server = Some(v.into_owned()),
                    "code" => code = Some(v.into_owned()),
                    _ => {}
                }
            }
            let server = link_server.as_deref().or(server).ok_or(JoinLinkError::NoServer)?;
            return Ok(Self { server_url: check_server(server)?, code: check_code(code.as_deref().unwrap_or(""))? });
        }
        let server = server.ok_or(JoinLinkError::NoServer)?;
        Ok(Self { server_url: check_server(server)?, code: check_code(text)? })
    }

    /// The link, with its parts percent-encoded; without a server when `server_url` is empty.
    pub fn to_uri(&self) -> String {
        let mut url = Url::parse("doorstep://join").expect("a valid base");
        {
            let mut q = url.query_pairs_mut();
            if !self.server_url.is_empty() {
                q.append_pair("server", &self.server_url);
            }
            q.append_pair("code", &self.code);
        }
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(s: &str, c: &str) -> JoinLink {
        JoinLink { server_url: s.into(), code: c.into() }
    }

    #[test]
    fn case_table() {
        use JoinLinkError as E;
        let known = Some("https://known.example");
        let cases: &[(&str, Option<&str>, Result<JoinLink, JoinLinkError>)] = &[
            (
                "doorstep://join?server=https%3A%2F%2Fcanvass.example%2F&code=7XNP4-CND53",
                None,
                Ok(link("https://canvass.example", "7XNP4-CND53")),
            ),
            (
                "doorstep://join?server=http://127.0.0.1:8080&code=ABCD-EFGH",
                None,
                Ok(link("http://127.0.0.1:8080", "ABCD-EFGH")),
            ),
            (
                "  doorstep://join?code=ABCD-EFGH&server=https%3A%2F%2Fa.example%2Fx%3Fy%3D1%26z  ",
                None,
                Ok(link("https://a.example/x?y=1&z", "ABCD-EFGH")),
            ),
            ("doorstep://join?code=ABCD-EFGH", known, Ok(link("https://known.example", "ABCD-EFGH"))),
            ("doorstep://join?code=ABCD-EFGH", None, Err(E::NoServer)),
            ("doorstep://join?server=ftp://x&code=ABCD-EFGH", None, Err(E::BadServer)),
            ("doorstep://join?server=javascript:alert(1)&code=ABCD-EFGH", None, Err(E::BadServer)),
            ("doorstep://join?server=https://x.example", None, Err(E::BadCode)),
            ("doorstep://join?server=https://x.example&code=AB", None, Err(E::BadCode)),
            ("doorstep://join?server=https://x.example&code=AB%00CD", None, Err(E::BadCode)),
            ("doorstep://leave?server=https://x.example&code=ABCD", None, Err(E::NotALink)),
            ("7xnp4 cnd53", known, Ok(link("https://known.example", "7xnp4cnd53"))),
            ("7XNP4-CND53", Some("https://known.example/"), Ok(link("https://known.example", "7XNP4-CND53"))),
            ("7XNP4-CND53", None, Err(E::NoServer)),
            ("DROP;TABLE", known, Err(E::BadCode)),
            ("", known, Err(E::BadCode)),
        ];
        for (input, server, want) in cases {
            assert_eq!(&JoinLink::parse(input, *server), want, "{input:?}");
        }
    }

    #[test]
    fn round_trip() {
        for l in [link("https://a.example/x?y=1&z", "7XNP4-CND53"), link("http://127.0.0.1:8080", "ABCD-EFGH")] {
            assert_eq!(JoinLink::parse(&l.to_uri(), None), Ok(l));
        }
        assert_eq!(link("", "ABCD-EFGH").to_uri(), "doorstep://join?code=ABCD-EFGH");
    }
}
