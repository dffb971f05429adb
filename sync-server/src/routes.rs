//! The route table: every route of the server once, with the access it needs and a summary. The
//! router (`api`), the OpenAPI document (`openapi`) and the role × route test are built from it;
//! the extractors read each route's access from it. Also the few bodies the HTTP layer itself
//! defines (answers that are not a service's type).

use axum::http::Method;

pub use crate::extract::Access;

/// Largest request body (a push of 500 reports with long notes fits in well under 4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Largest import file (CSV or GeoJSON of a large city's addresses).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { method: "GET", path: "/healthz", access: Access::Public, summary: "liveness" },
    RouteSpec {
        method: "GET",
        path: "/",
        access: Access::Public,
        summary: "the dashboard (one page, French and English)",
    },
    RouteSpec {
        method: "GET",
        path: "/assets/{file}",
        access: Access::Public,
        summary: "the dashboard's script, styles and map library (shipped in the server: no CDN)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/session",
        access: Access::Public,
        summary: "sign in to the dashboard (login, password): sets the session cookie; failures rate limited",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/session",
        access: Access::Staff,
        summary: "the dashboard session: who, and the CSRF token to send with every change",
    },
    RouteSpec { method: "DELETE", path: "/api/v1/session", access: Access::Staff, summary: "sign out" },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/users/{user_id}/login",
        access: Access::Staff,
        summary: "set a dashboard login and password: one's own, or coordinators for any staff member",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/events",
        access: Access::Staff,
        summary: "live changes within reach as server-sent events (sync, turfs); ?limit=N closes after N",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/map/streets",
        access: Access::Staff,
        summary: "the street network to draw (nodes and edges; a captain's: around their turfs; a coordinator's: within ?south= &west= &north= &east= when given)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/map/buildings",
        access: Access::Staff,
        summary: "buildings within reach with their doors' status, for the map; ?south= &west= &north= &east= within a viewport, ?turf= one turf's",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/map/cells",
        access: Access::Coordinator,
        summary: "coordinators: doors, knocked and contacted per grid cell (?level=0|1|2: 1°, 0.1°, 0.01°) within ?south= &west= &north= &east=",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/progress",
        access: Access::Staff,
        summary: "progress per campaign, team, turf and volunteer; timeline; ?team= lists one team's turfs and volunteers (above 2,000 turfs in reach, only one team's are listed)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/results",
        access: Access::Staff,
        summary: "answer distributions; ?turf= &team= &station= &from_ms= &to_ms=",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/results.csv",
        access: Access::Staff,
        summary: "the same distributions as CSV",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/audit",
        access: Access::Coordinator,
        summary: "the audit log, newest first: downloads, exports, assignments, revocations, sign-ins (?before_ms= &limit=)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/overlaps/{report_id}/review",
        access: Access::Staff,
        summary: "mark an overlap reviewed",
    },
    RouteSpec { method: "GET", path: "/openapi.json", access: Access::Public, summary: "this API, as OpenAPI 3.1" },
    RouteSpec {
        method: "POST",
        path: "/api/v1/join",
        access: Access::Public,
        summary: "redeem a one-time join code for a device token",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/push",
        access: Access::Phone,
        summary: "push knock reports; per-item accepted / duplicate / rejected",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/pull",
        access: Access::Phone,
        summary: "pull the volunteer's turfs: buckets (package or delta), removed, wipe",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/sessions",
        access: Access::Phone,
        summary: "the canvass sessions the phone's volunteer may see (a captain's phone: also those they captain), with their standing and places left",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sessions/{session_id}/calendar.ics",
        access: Access::Any,
        summary: "a session as an iCalendar file with its reminder alarms (staff who reach it, phones that may see it)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/reminders",
        access: Access::Phone,
        summary: "the phone's volunteer's session reminders that are due (shown once each by the app), for sessions not over",
    },
    RouteSpec {
        method: "GET",
        path: "/p/{session_id}",
        access: Access::Public,
        summary: "a public session's sign-up page (HTML, French): for supporters without an account",
    },
    RouteSpec {
        method: "POST",
        path: "/p/{session_id}",
        access: Access::Public,
        summary: "a public sign-up (form: name, email or phone, consent, token); rate limited per address; answers the page",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/keys",
        access: Access::Phone,
        summary: "the campaign's public key, to check offline hand-offs with no network",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/grants",
        access: Access::Phone,
        summary: "a captain's phone gets the server's grant over its own key for a session it captains",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/handoffs",
        access: Access::Phone,
        summary: "push hand-offs given or received offline; per-item accepted / duplicate / held (refused: knocks under it held) / rejected",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/me/phone",
        access: Access::Staff,
        summary: "a one-time join code for the caller's own phone (a captain hands out work from it offline)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/signups",
        access: Access::Phone,
        summary: "push sign-up, confirmation, cancellation and check-in events (a captain's phone: check-ins of others); per-item accepted / duplicate / rejected",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/messages",
        access: Access::Phone,
        summary: "push team message events from the phone's outbox (post, read marker, pin, unpin); per-item accepted / duplicate / rejected",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/feed",
        access: Access::Phone,
        summary: "the channels the phone's person reads and the messages after the places it holds (a page per channel)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/feed/wait",
        access: Access::Phone,
        summary: "a phone online waits for its team's messages (long poll, at most 25 s): the feed after the places it holds as soon as a message lands in one of its channels",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/messages/feed",
        access: Access::Staff,
        summary: "the channels the staff member reads (a captain's inbox: their teams, sessions, direct messages) and the messages after the places given",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/messages",
        access: Access::Staff,
        summary: "write, read, pin or unpin in a channel from the dashboard, under the same rules as a phone",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/people",
        access: Access::Phone,
        summary: "the phone's people: its own page (with its settings), its coopains and asks, its team's pages",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/people",
        access: Access::Phone,
        summary: "push people events from the phone's outbox (page settings, coopain ask / accept / end); per-item accepted / duplicate / rejected",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/people/{user_id}",
        access: Access::Phone,
        summary: "a person's page as the phone's person may see it (each field by its visibility; nobody outside the campaign)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/people/{user_id}/photo",
        access: Access::Phone,
        summary: "a person's photo (JPEG, 256 px) if the phone's person may see it",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/sync/me/photo",
        access: Access::Phone,
        summary: "set one's photo (JPEG or PNG, at most 8 MiB): stored square, 256 px, re-encoded without any metadata",
    },
    RouteSpec { method: "DELETE", path: "/api/v1/sync/me/photo", access: Access::Phone, summary: "remove one's photo" },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sync/me/export",
        access: Access::Phone,
        summary: "all one's own data in one JSON document (GDPR articles 15 and 20); audited",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/me/delete",
        access: Access::Phone,
        summary: "delete one's own account (GDPR article 17; confirm: SUPPRIMER): personal rows removed, devices revoked, one audit line without personal data",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/people/{user_id}",
        access: Access::Staff,
        summary: "a volunteer's page as the staff member may see it (the dashboard's volunteer page)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/people/{user_id}/photo",
        access: Access::Staff,
        summary: "a volunteer's photo if the staff member may see it",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/people/{user_id}/export",
        access: Access::Coordinator,
        summary: "a person's data in one JSON document, to answer their written request (GDPR article 15); audited",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sms/settings",
        access: Access::Staff,
        summary: "the campaign's SMS settings: how texts are signed, the polling days (the L49 silence), the segment budget",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/sms/settings",
        access: Access::Coordinator,
        summary: "set the campaign's SMS settings",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sms/consents",
        access: Access::Coordinator,
        summary: "record consents collected elsewhere (numbers, the purpose, the text agreed to); the opt-out list stands",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sms/preview",
        access: Access::Staff,
        summary: "the compliance gate's verdict on every recipient of a text to a team or a session, nothing sent",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sms/send",
        access: Access::Staff,
        summary: "queue a text to a team or a session: only what the gate lets through, each once under the request's idempotency key; refusals logged",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sms/inbox",
        access: Access::Coordinator,
        summary: "replies received (a STOP is on the opt-out list already)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sms/optouts",
        access: Access::Coordinator,
        summary: "the campaign's opt-out list",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sms/provider",
        access: Access::Coordinator,
        summary: "the campaign's SMS provider (never its secret)",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/sms/provider",
        access: Access::Coordinator,
        summary: "set the campaign's SMS provider (Twilio-compatible, SMPP or OVHcloud); the secret is sealed, never shown again",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sms/outbox",
        access: Access::Coordinator,
        summary: "every queued text and its delivery state, explained in French",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/sms/inbox/{id}",
        access: Access::Coordinator,
        summary: "mark a reply unread, needing a reply, or handled",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sms/expenses",
        access: Access::Coordinator,
        summary: "texts, segments and cost per provider and day, for the campaign's accounts (`?format=csv`)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sms/hooks/twilio/{campaign_id}",
        access: Access::Public,
        summary: "Twilio's replies and delivery states, taken only with the campaign's valid X-Twilio-Signature",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/sessions",
        access: Access::Staff,
        summary: "canvass sessions not over yet, with their standings counted (a captain: their teams' and campaign-wide)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sessions",
        access: Access::Staff,
        summary: "publish a canvass session (a captain: a session of a team they lead, as one of its captains)",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/sessions/{session_id}",
        access: Access::Staff,
        summary: "edit a session or call it off: title, meeting point, places (never fewer than taken), captains, turfs; its times are fixed (a captain: a session of a team they lead that they captain)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/wiped",
        access: Access::Phone,
        summary: "a revoked phone acknowledges its wipe: its token answers 401 from now on",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/held",
        access: Access::Staff,
        summary: "reports pushed by revoked devices, held for review (not counted until accepted)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/held/{report_id}/review",
        access: Access::Staff,
        summary: "accept (counted from now on) or discard (answers and note erased) a held report: {\"accept\": bool}",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/me",
        access: Access::Any,
        summary: "who this token belongs to: role, campaign, teams",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/campaigns",
        access: Access::Coordinator,
        summary: "open another campaign with its own first coordinator",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/campaign",
        access: Access::Staff,
        summary: "the campaign: mode, result codes, current survey script",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/campaign/script",
        access: Access::Coordinator,
        summary: "publish a new version of the survey script and result codes",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/import/addresses.csv",
        access: Access::Coordinator,
        summary: "import addresses / voter file from CSV (columns by name or ?field=column)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/import/addresses.geojson",
        access: Access::Coordinator,
        summary: "import addresses from GeoJSON points",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/import/streets.geojson",
        access: Access::Coordinator,
        summary: "import the campaign's street network (GeoJSON LineStrings) for walking routes along streets",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/import/streets",
        access: Access::Coordinator,
        summary: "import the street network from any file it is published in: GeoJSON, OpenStreetMap .osm.pbf, IGN BD TOPO GeoPackage (recognised by its first bytes; walkable ways near the campaign's addresses kept)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/turfs/cut",
        access: Access::Coordinator,
        summary: "cut every address not yet in a turf (and turfs to re-cut) into turfs along streets",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/import/results.csv",
        access: Access::Coordinator,
        summary: "import past results per polling station (Interior Ministry wide or long layout, percentages)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/import/stations.geojson",
        access: Access::Coordinator,
        summary: "import polling-station boundaries; places buildings with no station in them",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/targeting",
        access: Access::Staff,
        summary: "the campaign's priority formula",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/targeting",
        access: Access::Coordinator,
        summary: "set the priority formula: favourable lists and exponents",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/stations",
        access: Access::Staff,
        summary: "polling stations with results, doors and priority, highest first",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/stations.geojson",
        access: Access::Staff,
        summary: "the same as a GeoJSON FeatureCollection of boundaries (choropleth)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/turfs/ranking",
        access: Access::Staff,
        summary: "turfs within reach by priority, for assignment",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/turfs",
        access: Access::Staff,
        summary: "turfs within reach, with holder, lease, team and size",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/turfs/{turf_id}/doors",
        access: Access::Staff,
        summary: "every door of a turf with its status derived from all reports",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/turfs/{turf_id}/sheet.pdf",
        access: Access::Staff,
        summary: "the turf's paper walk sheet (PDF): doors in walking order, tick boxes, a QR code and a 6-character code per door; audited",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/turfs/{turf_id}/paper",
        access: Access::Staff,
        summary: "results ticked on the turf's paper sheet, typed by door code: each row a report through the push's path, marked paper",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/turfs/{turf_id}/assign",
        access: Access::Staff,
        summary: "check a turf out to a volunteer (a lease)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/turfs/{turf_id}/return",
        access: Access::Staff,
        summary: "return a turf: nobody holds it",
    },
    RouteSpec {
        method: "PUT",
        path: "/api/v1/turfs/{turf_id}/team",
        access: Access::Coordinator,
        summary: "give a turf to a team (its captains manage it)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/reassign",
        access: Access::Staff,
        summary: "move a street of a turf, or chosen doors, to another turf or volunteer",
    },
    RouteSpec { method: "GET", path: "/api/v1/teams", access: Access::Staff, summary: "teams within reach" },
    RouteSpec {
        method: "POST",
        path: "/api/v1/teams",
        access: Access::Coordinator,
        summary: "create a team with its captains",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/teams/{team_id}/members",
        access: Access::Coordinator,
        summary: "add a volunteer or captain to a team",
    },
    RouteSpec { method: "GET", path: "/api/v1/users", access: Access::Staff, summary: "people within reach" },
    RouteSpec {
        method: "POST",
        path: "/api/v1/invitations",
        access: Access::Staff,
        summary: "invite a volunteer (join code) or, coordinators only, staff (token)",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/devices/{device_id}/revoke",
        access: Access::Staff,
        summary: "revoke a device: it pushes, then wipes on its next sync",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/overlaps",
        access: Access::Staff,
        summary: "reports made on doors whose lease had moved, for the captain to review (and whether reviewed)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/export/reports.json",
        access: Access::Staff,
        summary: "every report within reach, with its overlap flag",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/export/reports.csv",
        access: Access::Staff,
        summary: "every report within reach, one row each, VAN-style columns",
    },
];

/// Body limit of a route: imports take whole files, everything else 4 MiB.
pub fn body_limit(spec: &RouteSpec) -> usize {
    if spec.path.starts_with("/api/v1/import/") {
        MAX_IMPORT_BYTES
    } else if spec.path == "/api/v1/sync/me/photo" {
        crate::photo::MAX_PHOTO_BYTES + 1024
    } else {
        MAX_BODY_BYTES
    }
}

/// The method of a spec as an `http::Method`.
pub fn method_of(spec: &RouteSpec) -> Method {
    Method::from_bytes(spec.method.as_bytes()).expect("valid method")
}

/// A captain's decision on a held report.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldReview {
    pub accept: bool,
}

/// The script's new version after `PUT /api/v1/campaign/script`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ScriptVersion {
    pub version: u32,
}

/// A team membership after `POST /api/v1/teams/{team_id}/members`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Membership {
    pub team_id: String,
    pub role: crate::store::Role,
}

/// `revoked` is false when the device was revoked already.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Revoked {
    pub device_id: String,
    pub revoked: bool,
}

/// One row of `GET /api/v1/export/reports.json`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExportRow {
    pub report: doorstep_protocol::KnockReport,
    pub overlap: bool,
}
