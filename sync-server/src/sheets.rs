//! Paper walk sheets (issue 17): a PDF per turf for volunteers without a phone (or with a flat
//! battery). Doors in walking order — buildings in the route's order, within a building by
//! entrance (bâtiment, escalier), floor and door — under a heading per street and side; per door
//! the address as the volunteer needs it at the door (number, bâtiment, escalier, digicode,
//! étage, porte), tick boxes for the result codes (numbered, as the legend says) and for the
//! survey's options, a small QR code and a six-character code (`door_code`), the names of a voter
//! file only (an address-only campaign prints none), and on every page the confidentiality and
//! rights notices.
//!
//! pdf-writer (the typst project's PDF writer) writes the file; the text uses the PDF's standard
//! Helvetica (nothing embedded: the file stays small) in WinAnsi encoding, which has every letter
//! French needs; QR codes (qrcode) are 1-bit images, about a hundred bytes each.

use std::collections::HashMap;
use std::io::Write as _;

use doorstep_protocol::{QuestionKind, TurfPackage};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const W: f32 = 595.0;
const H: f32 = 842.0;
const MARGIN: f32 = 36.0;
const HEADING: f32 = 20.0;
const BOTTOM: f32 = MARGIN + 34.0;
/// Side of a door's QR code, quiet zone included (about 2 cm).
const QR_SIDE: f32 = 54.0;

/// One door as the sheet prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetDoor {
    pub door_id: String,
    pub code: String,
    pub street: String,
    /// `côté pair`, `côté impair`, or empty when the number says nothing.
    pub side: &'static str,
    /// `12 BIS`.
    pub number: String,
    /// `Bât. A, esc. 2 · digicode 4521 · 3e étage · porte 32`.
    pub detail: String,
    /// A voter file's people at this door; none for an address-only campaign.
    pub names: Vec<String>,
}

/// What a sheet prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub campaign: String,
    pub turf_id: String,
    pub turf_name: String,
    /// `samedi 12 décembre 2026`.
    pub printed: String,
    /// The result codes' French labels, numbered from 1 in this order.
    pub results: Vec<String>,
    /// The survey's questions with tick boxes: short text and options.
    pub questions: Vec<(String, Vec<String>)>,
    pub doors: Vec<SheetDoor>,
}

fn floor_text(f: i32) -> String {
    match f {
        0 => "rez-de-chaussée".into(),
        1 => "1er étage".into(),
        f if f > 0 => format!("{f}e étage"),
        f => format!("sous-sol {f}"),
    }
}

/// Natural order of labels: `2` before `10`, `A` before `B`.
fn natural(s: &str) -> (Option<u32>, String) {
    doorstep_streets::route::house_number_key(s)
}

/// The doors of a package in walking order, each with its code and its lines. `order`: the
/// buildings' indices in the route's order (every building once).
pub fn sheet_doors(
    pkg: &TurfPackage,
    order: &[usize],
    codes: &std::collections::BTreeMap<String, String>,
) -> Vec<SheetDoor> {
    let entrances: HashMap<&str, &doorstep_protocol::Entrance> =
        pkg.entrances.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut names: HashMap<&str, Vec<String>> = HashMap::new();
    let household_door: HashMap<&str, &str> =
        pkg.households.iter().map(|h| (h.id.as_str(), h.door_id.as_str())).collect();
    for p in &pkg.people {
        if let Some(d) = household_door.get(p.household_id.as_str()) {
            names.entry(d).or_default().push(p.display_name.clone());
        }
    }
    let mut by_building: HashMap<&str, Vec<&doorstep_protocol::Door>> = HashMap::new();
    for d in &pkg.doors {
        by_building.entry(d.building_id.as_str()).or_default().push(d);
    }
    let mut out = Vec::with_capacity(pkg.doors.len());
    for &i in order {
        let b = &pkg.buildings[i];
        let mut doors = by_building.remove(b.id.as_str()).unwrap_or_default();
        doors.sort_by_cached_key(|d| {
            let e = d.entrance_id.as_deref().and_then(|e| entrances.get(e)).map(|e| natural(&e.label));
            (e, d.floor.unwrap_or(0), natural(&d.label), d.id.clone())
        });
        let side = match doorstep_streets::route::parity(&b.house_number) {
            doorstep_streets::route::Parity::Even => "côté pair",
            doorstep_streets::route::Parity::Odd => "côté impair",
            doorstep_streets::route::Parity::Unknown => "",
        };
        for d in doors {
            let mut parts = Vec::new();
            if let Some(e) = d.entrance_id.as_deref().and_then(|e| entrances.get(e)) {
                if !e.label.trim().is_empty() {
                    parts.push(e.label.trim().to_string());
                }
                if let Some(code) = e.digicode.as_deref().filter(|c| !c.trim().is_empty()) {
                    parts.push(format!("digicode {}", code.trim()));
                }
            }
            if let Some(f) = d.floor {
                parts.push(floor_text(f));
            }
            if !d.label.trim().is_empty() {
                parts.push(format!("porte {}", d.label.trim()));
            }
            let mut people = names.remove(d.id.as_str()).unwrap_or_default();
            people.sort();
            out.push(SheetDoor {
                door_id: d.id.clone(),
                code: codes.get(&d.id).cloned().unwrap_or_default(),
                street: b.street.clone(),
                side,
                number: b.house_number.clone(),
                detail: parts.join(" · "),
                names: people,
            });
        }
    }
    out
}

/// The survey's questions as tick boxes (free text gets the notes line instead).
pub fn sheet_questions(script: &doorstep_protocol::SurveyScript) -> Vec<(String, Vec<String>)> {
    script
        .questions
        .iter()
        .filter_map(|q| {
            let options = match &q.kind {
                QuestionKind::YesNo => vec!["oui".to_string(), "non".to_string()],
                QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => choices.clone(),
                QuestionKind::Scale => (1..=5).map(|i| i.to_string()).collect(),
                QuestionKind::FreeText => return None,
            };
            Some((q.text_fr.clone(), options))
        })
        .collect()
}

/// Text in the PDF's WinAnsi encoding (what its standard fonts read): Latin-1 plus the few
/// characters French typography uses beyond it; anything else prints as `?`.
pub fn winansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            'Œ' => 0x8c,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Ÿ' => 0x9f,
            '\u{202f}' => 0xa0,
            _ => b'?',
        })
        .collect()
}

/// A generous estimate of a Helvetica line's width (points): wide letters counted wide, so text
/// cut to fit never overflows its column.
fn width(s: &str, size: f32) -> f32 {
    let em: f32 = s
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '’' | '|' | '!' | ' ' | 'I' | 'f' | 't' | 'r' => 0.34,
            'm' | 'w' | 'M' | 'W' | '@' | '—' | 'Œ' | 'œ' => 0.95,
            c if c.is_uppercase() || c.is_ascii_digit() => 0.73,
            _ => 0.57,
        })
        .sum();
    em * size
}

/// `s` cut to `max` points, with an ellipsis when cut.
fn fit(s: &str, size: f32, max: f32) -> String {
    if width(s, size) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if width(&out, size) + width("…", size) > max {
            out.pop();
            break;
        }
    }
    format!("{}…", out.trim_end())
}

struct Page {
    content: Content,
    qrs: Vec<(String, Ref)>,
}

fn text(c: &mut Content, font: &[u8], size: f32, x: f32, y: f32, s: &str) {
    c.begin_text();
    c.set_font(Name(font), size);
    c.next_line(x, y);
    c.show(Str(&winansi(s)));
    c.end_text();
}

/// A piece of a tick-box line: a question's label, or a box with its label.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Label(String),
    Tick(String),
}

const TICK_SIZE: f32 = 7.5;

fn piece_width(p: &Piece) -> f32 {
    match p {
        Piece::Label(l) => width(l, TICK_SIZE) + 5.0,
        Piece::Tick(l) => 9.0 + width(l, TICK_SIZE) + 8.0,
    }
}

/// Lays groups of tick boxes (an optional label, then its boxes) out in lines between `x0` and
/// `max_x`: a group moves to a new line when its label and first box do not fit; a box that does
/// not fit goes on the next line. The same for every door of a sheet: laid out once.
fn flow(groups: &[(Option<String>, Vec<String>)], x0: f32, max_x: f32) -> Vec<Vec<(f32, Piece)>> {
    let mut lines: Vec<Vec<(f32, Piece)>> = vec![Vec::new()];
    let mut x = x0;
    for (label, ticks) in groups {
        let ticks: Vec<Piece> = ticks.iter().map(|t| Piece::Tick(fit(t, TICK_SIZE, 110.0))).collect();
        let head: Vec<Piece> = label.iter().map(|l| Piece::Label(l.clone())).collect();
        let first = head.iter().chain(ticks.first()).map(piece_width).sum::<f32>();
        if x > x0 && x + first > max_x {
            lines.push(Vec::new());
            x = x0;
        }
        for p in head.into_iter().chain(ticks) {
            let w = piece_width(&p);
            if x > x0 && x + w > max_x {
                lines.push(Vec::new());
                x = x0 + 14.0;
            }
            lines.last_mut().expect("a line").push((x, p));
            x += w;
        }
        x += 4.0;
    }
    lines.retain(|l| !l.is_empty());
    lines
}

fn draw_line(c: &mut Content, y: f32, line: &[(f32, Piece)]) {
    c.set_line_width(0.6);
    for (x, p) in line {
        match p {
            Piece::Label(l) => text(c, b"F2", TICK_SIZE, *x, y, l),
            Piece::Tick(l) => {
                c.rect(*x, y - 1.0, 6.5, 6.5);
                c.stroke();
                text(c, b"F1", TICK_SIZE, x + 9.0, y, l);
            }
        }
    }
}

/// Items joined by ` · ` in lines of at most `max` points.
fn wrap(items: &[String], size: f32, max: f32) -> Vec<String> {
    let mut lines = vec![String::new()];
    for it in items {
        let it = fit(it, size, max);
        let cur = lines.last_mut().expect("a line");
        let candidate = if cur.is_empty() { it.clone() } else { format!("{cur} · {it}") };
        if width(&candidate, size) <= max || cur.is_empty() {
            *cur = candidate;
        } else {
            lines.push(it);
        }
    }
    lines
}

/// The QR code of a door as a 1-bit image (quiet zone included): `(side in modules, rows)`.
fn qr_image(text: &str) -> (u32, Vec<u8>) {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .or_else(|_| qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L))
        .expect("a door's QR text fits a QR code");
    let n = code.width();
    let colors = code.to_colors();
    let side = n + 8;
    let row_bytes = side.div_ceil(8);
    let mut rows = vec![0xff_u8; row_bytes * side];
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == qrcode::Color::Dark {
                let (px, py) = (x + 4, y + 4);
                rows[py * row_bytes + px / 8] &= !(0x80 >> (px % 8));
            }
        }
    }
    (side as u32, rows)
}

/// Renders a sheet as a PDF.
pub fn render(s: &Sheet) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        next += 1;
        Ref::new(next)
    };
    let (catalog, tree, regular, bold, mono, info) = (Ref::new(1), alloc(), alloc(), alloc(), alloc(), alloc());
    pdf.catalog(catalog).pages(tree);
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(mono).base_font(Name(b"Courier-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&format!("Feuille de porte-à-porte — {}", s.turf_name)))
        .creator(TextStr("Doorstep"));

    // What every door block and every page header carries, laid out once.
    let text_max = W - MARGIN - QR_SIDE - 10.0;
    let numbered: Vec<String> = (1..=s.results.len()).map(|i| i.to_string()).collect();
    let result_lines = flow(&[(None, numbered)], MARGIN, text_max);
    let survey: Vec<(Option<String>, Vec<String>)> = s
        .questions
        .iter()
        .enumerate()
        .map(|(i, (_, options))| (Some(format!("Q{}", i + 1)), options.clone()))
        .collect();
    let survey_lines = flow(&survey, MARGIN, text_max);
    let legend: Vec<String> = s.results.iter().enumerate().map(|(i, r)| format!("{} {r}", i + 1)).collect();
    let mut header = wrap(&legend, 7.5, W - 2.0 * MARGIN - 40.0);
    header[0] = format!("Résultat : {}", header[0]);
    let questions: Vec<String> = s.questions.iter().enumerate().map(|(i, (q, _))| format!("Q{} {q}", i + 1)).collect();
    if !questions.is_empty() {
        header.extend(wrap(&questions, 7.5, W - 2.0 * MARGIN));
    }
    let top = H - MARGIN - 30.0 - 9.5 * header.len() as f32;
    let block = (12.0 + 11.0 * (result_lines.len() + survey_lines.len()) as f32 + 12.0 + 10.0).max(QR_SIDE + 6.0);

    // Lay the doors out in pages: a heading when the street or side changes (and atop each page).
    let mut pages: Vec<Page> = Vec::new();
    let mut y = 0.0;
    let mut last: Option<(&str, &str)> = None;
    for d in &s.doors {
        let here = (d.street.as_str(), d.side);
        let heading = last != Some(here);
        let names = if d.names.is_empty() { 0.0 } else { 10.0 };
        let need = block + names + if heading { HEADING } else { 0.0 };
        if pages.is_empty() || y - need < BOTTOM {
            pages.push(Page { content: Content::new(), qrs: Vec::new() });
            y = top;
            last = None;
        }
        let page = pages.last_mut().expect("a page");
        let c = &mut page.content;
        if last != Some(here) {
            y -= HEADING - 4.0;
            let side = if d.side.is_empty() { String::new() } else { format!(" — {}", d.side) };
            text(c, b"F2", 10.5, MARGIN, y, &fit(&format!("{}{side}", d.street), 10.5, W - 2.0 * MARGIN));
            y -= 4.0;
            last = Some(here);
        }
        // The door's block: the address line, names, result boxes, the survey, notes, the QR code.
        let block_top = y;
        let mut line = block_top - 12.0;
        let address =
            if d.detail.is_empty() { format!("N° {}", d.number) } else { format!("N° {} · {}", d.number, d.detail) };
        text(c, b"F2", 9.5, MARGIN, line, &fit(&address, 9.5, text_max - 60.0 - MARGIN));
        if !d.names.is_empty() {
            line -= 10.0;
            text(c, b"F1", 8.0, MARGIN, line, &fit(&d.names.join(", "), 8.0, text_max - MARGIN));
        }
        for l in result_lines.iter().chain(&survey_lines) {
            line -= 11.0;
            draw_line(c, line, l);
        }
        line -= 12.0;
        text(c, b"F1", 7.5, MARGIN, line, "Notes :");
        c.set_line_width(0.3);
        c.move_to(MARGIN + 30.0, line - 1.0);
        c.line_to(text_max, line - 1.0);
        c.stroke();
        // The QR code at the right, its code beside it.
        let qr_name = format!("Q{}", page.qrs.len());
        let qr_ref = alloc();
        let (side, rows) = qr_image(&doorstep_protocol::door_code::qr_text(&s.turf_id, &d.code));
        {
            let mut img = pdf.image_xobject(qr_ref, &rows);
            img.width(side as i32);
            img.height(side as i32);
            img.color_space().device_gray();
            img.bits_per_component(1);
            img.interpolate(false);
        }
        c.save_state();
        c.transform([QR_SIDE, 0.0, 0.0, QR_SIDE, W - MARGIN - QR_SIDE, block_top - QR_SIDE + 2.0]);
        c.x_object(Name(qr_name.as_bytes()));
        c.restore_state();
        text(c, b"F3", 10.0, W - MARGIN - QR_SIDE - 46.0, block_top - 12.0, &d.code);
        page.qrs.push((qr_name, qr_ref));
        y = block_top - block - names;
        c.set_line_width(0.2);
        c.move_to(MARGIN, y + 3.0);
        c.line_to(W - MARGIN, y + 3.0);
        c.stroke();
    }
    if pages.is_empty() {
        pages.push(Page { content: Content::new(), qrs: Vec::new() });
    }

    // Header, legend and footer on every page; then the page objects.
    let count = pages.len();
    let mut kids = Vec::with_capacity(count);
    for (i, page) in pages.into_iter().enumerate() {
        let mut c = page.content;
        text(
            &mut c,
            b"F2",
            13.0,
            MARGIN,
            H - MARGIN - 8.0,
            &fit(&format!("Porte-à-porte — {}", s.turf_name), 13.0, W - 2.0 * MARGIN),
        );
        let sub = format!(
            "{} · {} porte{} · imprimée le {} · page {} / {count}",
            s.campaign,
            s.doors.len(),
            if s.doors.len() > 1 { "s" } else { "" },
            s.printed,
            i + 1
        );
        text(&mut c, b"F1", 8.5, MARGIN, H - MARGIN - 21.0, &fit(&sub, 8.5, W - 2.0 * MARGIN));
        for (n, l) in header.iter().enumerate() {
            text(&mut c, b"F1", 7.5, MARGIN, H - MARGIN - 33.0 - 9.5 * n as f32, l);
        }
        text(
            &mut c,
            b"F2",
            6.8,
            MARGIN,
            MARGIN + 16.0,
            "Document confidentiel : il contient des données personnelles. Ne le laissez pas sans surveillance, ne le photographiez pas,",
        );
        text(
            &mut c,
            b"F2",
            6.8,
            MARGIN,
            MARGIN + 8.0,
            "rendez-le à votre responsable d'équipe : il est détruit une fois les résultats saisis.",
        );
        text(
            &mut c,
            b"F1",
            6.8,
            MARGIN,
            MARGIN,
            &fit(
                &format!(
                    "Responsable du traitement : « {} ». Accès, rectification, opposition, effacement : écrire à la campagne ; réclamation : CNIL (cnil.fr).",
                    s.campaign
                ),
                6.8,
                W - 2.0 * MARGIN,
            ),
        );
        let content_ref = alloc();
        let raw = c.finish();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&raw).expect("compress in memory");
        let packed = z.finish().expect("compress in memory");
        pdf.stream(content_ref, &packed).filter(Filter::FlateDecode);
        let page_ref = alloc();
        let mut p = pdf.page(page_ref);
        p.media_box(Rect::new(0.0, 0.0, W, H));
        p.parent(tree);
        p.contents(content_ref);
        let mut res = p.resources();
        res.fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold).pair(Name(b"F3"), mono);
        {
            let mut xo = res.x_objects();
            for (name, r) in &page.qrs {
                xo.pair(Name(name.as_bytes()), *r);
            }
        }
        res.finish();
        p.finish();
        kids.push(page_ref);
    }
    pdf.pages(tree).kids(kids).count(count as i32);
    pdf.finish()
}

impl crate::service::Service {
    /// A turf's paper walk sheet (PDF), for staff who reach the turf. The route is the one a
    /// phone would walk (along the campaign's streets when it has them). Audited like a download:
    /// a sheet of a voter-file campaign carries names.
    pub async fn walk_sheet(
        &self,
        st: &crate::admin::Staff,
        turf_id: &str,
    ) -> Result<Vec<u8>, crate::error::ServiceError> {
        use crate::error::ServiceError;
        self.turf_in_scope(st, turf_id).await?;
        let pkg = self.package(turf_id).await?.ok_or_else(|| ServiceError::not_found(format!("turf {turf_id}")))?;
        let campaign = self.campaign_of(st).await?;
        let script = campaign.survey.clone();
        let now = (self.now)();
        let printed = {
            use chrono::Datelike;
            let year = chrono::DateTime::from_timestamp_millis(now).map_or(0, |d| d.year());
            format!("{} {year}", crate::reminders::french_day(now))
        };
        let (doors, names) = (pkg.doors.len(), !pkg.people.is_empty());
        let bytes = tokio::task::spawn_blocking(move || {
            let points: Vec<doorstep_streets::route::RoutePoint> = pkg.buildings.iter().map(Into::into).collect();
            let graph = pkg.street_network.as_ref().and_then(doorstep_streets::streets::StreetGraph::new);
            let order = doorstep_streets::route::walking_order_on(&points, None, graph.as_ref());
            let codes = doorstep_protocol::door_code::door_codes(pkg.doors.iter().map(|d| d.id.as_str()));
            let sheet = Sheet {
                campaign: campaign.name.clone(),
                turf_id: pkg.turf.id.clone(),
                turf_name: pkg.turf.name.clone(),
                printed,
                results: campaign.result_codes.iter().map(|r| r.label_fr.clone()).collect(),
                questions: sheet_questions(&script),
                doors: sheet_doors(&pkg, &order, &codes),
            };
            render(&sheet)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("walk sheet: {e}")))?;
        let detail = serde_json::json!({ "doors": doors, "names": names, "bytes": bytes.len() });
        self.record_staff(st, "sheet.download", Some(turf_id), detail).await?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winansi_has_french() {
        assert_eq!(winansi("àéèêëîïôöùûüç"), "àéèêëîïôöùûüç".chars().map(|c| c as u8).collect::<Vec<_>>());
        assert_eq!(winansi("œ’«»€—…"), vec![0x9c, 0x92, 0xab, 0xbb, 0x80, 0x97, 0x85]);
        assert_eq!(winansi("日本"), b"??");
    }

    #[test]
    fn long_text_is_cut_to_its_column() {
        let long = "Résidence Les Jardins de la Motte-Rouge, bâtiment B, escalier 4, digicode 12A45";
        let cut = fit(long, 9.5, 200.0);
        assert!(cut.ends_with('…') && width(&cut, 9.5) <= 200.0 + width("…", 9.5), "{cut}");
        assert_eq!(fit("N° 12", 9.5, 200.0), "N° 12");
    }

    /// French building order: buildings as the route goes; within one, by entrance (bâtiment,
    /// escalier), floor, then door, numbers in natural order; names only where a voter file has some.
    #[test]
    fn doors_in_french_building_order() {
        use doorstep_protocol::{Building, Door, Entrance, Household, Person};
        let mut pkg = doorstep_tests_free_package();
        let b = |id: &str, number: &str| Building {
            id: id.into(),
            street: "Rue Bisson".into(),
            house_number: number.into(),
            postcode: "44000".into(),
            city: "Nantes".into(),
            polling_station: None,
            lat: 47.22,
            lon: -1.56,
        };
        pkg.buildings = vec![b("b12", "12"), b("b7", "7 BIS")];
        let e = |id: &str, label: &str, digicode: Option<&str>| Entrance {
            id: id.into(),
            building_id: "b12".into(),
            label: label.into(),
            digicode: digicode.map(str::to_string),
            interphone: None,
            caretaker: None,
            notes: None,
        };
        pkg.entrances = vec![e("eb", "Bât. B", None), e("ea", "Bât. A", Some("4521"))];
        let d = |id: &str, building: &str, entrance: Option<&str>, floor: Option<i32>, label: &str| Door {
            id: id.into(),
            building_id: building.into(),
            entrance_id: entrance.map(str::to_string),
            floor,
            label: label.into(),
            safety_flags: vec![],
        };
        pkg.doors = vec![
            d("d1", "b12", Some("eb"), Some(0), "1"),
            d("d2", "b12", Some("ea"), Some(2), "10"),
            d("d3", "b12", Some("ea"), Some(2), "2"),
            d("d4", "b12", Some("ea"), Some(0), "1"),
            d("d5", "b7", None, None, ""),
        ];
        pkg.households = vec![Household { id: "h".into(), door_id: "d5".into() }];
        pkg.people = vec![Person {
            id: "p".into(),
            household_id: "h".into(),
            display_name: "Léa Martin".into(),
            birth_year: None,
        }];
        let codes = doorstep_protocol::door_code::door_codes(pkg.doors.iter().map(|d| d.id.as_str()));
        // The route walks number 7 BIS first, then 12.
        let doors = sheet_doors(&pkg, &[1, 0], &codes);
        let ids: Vec<&str> = doors.iter().map(|d| d.door_id.as_str()).collect();
        assert_eq!(ids, ["d5", "d4", "d3", "d2", "d1"]);
        assert_eq!(doors[0].side, "côté impair");
        assert_eq!(doors[1].side, "côté pair");
        assert_eq!(doors[1].detail, "Bât. A · digicode 4521 · rez-de-chaussée · porte 1");
        assert_eq!(doors[2].detail, "Bât. A · digicode 4521 · 2e étage · porte 2");
        assert_eq!(doors[0].names, ["Léa Martin"]);
        assert!(doors[1].names.is_empty());
        assert_eq!(doors[0].code, codes["d5"]);
    }

    fn doorstep_tests_free_package() -> TurfPackage {
        TurfPackage {
            format: doorstep_protocol::TURF_PACKAGE_FORMAT,
            campaign: doorstep_protocol::Campaign {
                id: "c".into(),
                name: "C".into(),
                mode: doorstep_protocol::CampaignMode::VoterFile,
                result_codes: vec![],
                survey: doorstep_protocol::SurveyScript { version: 1, consent_question_id: None, questions: vec![] },
                retention_until_ms: None,
            },
            turf: doorstep_protocol::TurfInfo {
                id: "t".into(),
                name: "T".into(),
                version: 1,
                volunteer_id: String::new(),
                lease_expires_ms: None,
            },
            buildings: vec![],
            entrances: vec![],
            doors: vec![],
            households: vec![],
            people: vec![],
            street_network: None,
        }
    }

    #[test]
    fn floors_in_french() {
        assert_eq!(
            [0, 1, 3, -1].map(floor_text),
            ["rez-de-chaussée".to_string(), "1er étage".into(), "3e étage".into(), "sous-sol -1".into()]
        );
    }
}
