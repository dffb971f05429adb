// Doorstep dashboard: one page, no build step, no third party but Leaflet (shipped with the server).
// Every text goes through t(); every value from the server goes into the page as text, never HTML.
'use strict';

const TEXT = {
  fr: {
    tab_sms: 'SMS', sms_title: 'SMS aux bénévoles', sms_not_set_up: 'Les SMS ne sont pas réglés : signature, dates du scrutin et fournisseur (coordination).', sms_audience: 'Destinataires', sms_purpose: 'Objet', sms_body: 'Texte', sms_purposes: { session_reminder: 'Rappel de séance', team_news: 'Nouvelles de l’équipe' }, sms_team: (n) => n, sms_session: (n) => `Séance « ${n} »`, sms_gave_no_number: 'n’a pas donné de numéro', sms_check: 'Vérifier', sms_send: 'Envoyer', sms_segments: (enc, n) => `${n} SMS (${enc === 'gsm7' ? '160 caractères' : 'accents ou emoji : 70 caractères'} par SMS)`, sms_verdicts: (a, r) => `${a} autorisé(s), ${r} refusé(s)`, sms_allowed: 'autorisé', sms_no_number: 'pas de numéro', sms_queued: (q, r) => `${q} SMS en file d’envoi${r ? `, ${r} refusé(s)` : ''}.`, sms_hint: 'Chaque texte passe les règles : consentement, liste STOP, 8 h – 20 h chez le destinataire, ni dimanche ni jour férié, silence de la veille du scrutin, signature et mention STOP.', sms_inbox: 'Réponses', sms_no_replies: 'Aucune réponse.', sms_state: { unread: 'non lu', needs_reply: 'à répondre', handled: 'traité', opted_out: 'STOP (retiré)' }, sms_optouts: 'Liste d’opposition (STOP)', sms_no_optouts: 'Personne n’a répondu STOP.', sms_outbox: 'Envois', sms_expenses: 'Dépenses', sms_expenses_csv: 'Exporter pour la comptabilité (CSV)', sms_day: 'Jour', sms_provider: 'Fournisseur', sms_texts: 'SMS', sms_segments_col: 'Segments', sms_uncertain: 'Incertains', sms_cost: 'Montant', sms_number: 'Numéro', sms_received: 'Reçu', sms_source: 'Origine', sms_status: 'État', sms_provider_set: (k, a) => `Fournisseur : ${k} (${a})`, sms_no_provider: 'Aucun fournisseur réglé : les SMS attendent dans la file.',
    skip: 'Aller au contenu', login_intro: "Tableau de bord des coordinateurs et chefs d'équipe.",
    login_name: 'Identifiant', password: 'Mot de passe', sign_in: 'Se connecter', sign_out: 'Se déconnecter',
    other_language: 'English', map: 'Carte', views: 'Vues', selection: 'Sélection', tab_progress: 'Progression', tab_results: 'Résultats',
    tab_turfs: 'Secteurs', tab_people: 'Bénévoles', tab_overlaps: 'À vérifier', cancel: 'Annuler', confirm: 'Confirmer',
    tab_messages: 'Messages', no_channels: 'Aucun canal.', write_to: (c) => `Écrire à « ${c} »…`, send: 'Envoyer', pin: 'Épingler', unpin: 'Désépingler', pinned: 'Épinglé', read_by: (n) => `lu par ${n}`, you: 'vous', no_messages: 'Aucun message pour l’instant.', new_message: (c) => `Nouveau message : ${c}`, message_to_door: 'porte', message_to_street: 'rue', kind_team: 'Équipe', kind_session: 'Séance', kind_announcements: 'Annonces', kind_direct: 'Message direct',
    page_role: { volunteer: 'Bénévole', captain: 'Capitaine', coordinator: 'Coordinateur' }, page_teams: 'Équipes', page_sessions: 'Séances (présent)', page_doors: 'Portes frappées', page_conversations: 'Conversations', page_turfs: 'Secteurs tenus', page_activity: 'Ces sept derniers jours', page_hidden: 'Ce que ce bénévole ne montre pas n’apparaît pas ici.', page_export: 'Exporter ses données (RGPD)', page_exported: 'Données exportées.', page_close: 'Fermer', open_page: (n) => `Voir la page de ${n}`,
    tab_sessions: 'Séances', sessions: 'Séances de porte-à-porte', no_sessions: 'Aucune séance prévue ni récente.',
    session_title: 'Séance', session_when: 'Horaire', meeting: 'Rendez-vous', signed_up: 'Inscrits', checked_in: 'Accueillis',
    attended: 'Présents', session_doors: 'Portes', session_contacts: 'Conversations', no_show_rate: 'Absents',
    attended_help: 'Présent : a frappé au moins une porte sous un bail remis pendant la séance. Absents : inscrits non venus, une fois la séance finie.',
    called_off: 'annulée', upcoming: 'à venir', ongoing: 'en cours', over: 'terminée', calendar_file: 'agenda (.ics)', sheet_pdf: 'feuille papier (PDF)', type_paper: 'Saisir le papier', paper_title: 'Résultats de la feuille papier', paper_code: 'Code de la porte', paper_result: 'Résultat', paper_note: 'Note', paper_walked: 'Jour du passage', paper_more: 'Ajouter des lignes', paper_before: 'déjà saisi', paper_done: (a, d) => `${a} résultat(s) enregistré(s)${d ? `, ${d} déjà saisi(s)` : ''}`, paper_refused: (line, m) => `ligne ${line} : ${m}`, public_page: 'page d’inscription publique', without_account: (n) => `dont ${n} sans compte`, places: 'Places', save_places: 'Enregistrer', call_off: 'Annuler la séance', call_off_confirm: (title) => `Annuler « ${title} » ? Les inscrits la verront annulée et ne recevront plus de rappel ; une séance annulée ne se rouvre pas.`, session_saved: 'Séance mise à jour.', session_called_off: 'Séance annulée.',
    live_on: 'En direct', live_off: 'Hors ligne', live_error: 'Reconnexion…',
    no_streets: "Aucun réseau de rues n'est importé : les secteurs sont découpés et les itinéraires calculés à vol d'oiseau, sans tenir compte des rues. Importez les rues de la commune (GeoPackage BD TOPO de l'IGN, extrait OpenStreetMap .osm.pbf ou GeoJSON), puis redécoupez.",
    coordinator: 'coordination', captain: "chef d'équipe", zoom_for_addresses: 'Zoomez pour voir les adresses : chaque carré compte les portes frappées sur les portes.',
    doors: 'Portes', knocked: 'Frappées', contacted: 'Contacts', contact_rate: 'Taux de contact', knocks: 'Passages',
    doors_per_hour: 'Passages / heure', last_sync: 'Dernière synchro', overlaps: 'Chevauchements', hours: 'Heures',
    campaign: 'Campagne', teams: 'Équipes', turfs: 'Secteurs', volunteers: 'Bénévoles', timeline: 'Passages dans le temps', no_knocks_yet: 'Aucun passage pour l’instant',
    list_team: 'Équipe affichée', list_all: 'Toutes', list_by_team: 'Plus de 2 000 secteurs : choisissez une équipe pour voir ses secteurs et ses bénévoles.',
    name: 'Nom', team: 'Équipe', holder: 'Bénévole', progress: 'Avancement', never: 'jamais', none: '—',
    status_untouched: 'à frapper', status_attempted: 'tentée', status_contacted: 'contact', status_finished: 'terminée',
    status_do_not_return: 'ne pas revenir',
    filter_turf: 'Secteur', filter_team: 'Équipe', filter_station: 'Bureau de vote', filter_from: 'Du', filter_to: 'Au',
    all: 'Tous', export_csv: 'Exporter en CSV', reports_shown: 'passages retenus', result_codes: 'Résultats des passages',
    answered: 'réponses', yes: 'oui', no: 'non', free_text: 'Texte libre : réponses dans l’export des passages seulement.',
    streets_of: 'Rues du secteur', street: 'Rue', addresses: 'Adresses', move: 'Déplacer', move_street: 'Déplacer la rue', move_address: 'Déplacer cette adresse',
    move_to: 'Vers le bénévole', move_to_turf: 'ou vers le secteur', choose: '— choisir —',
    select_mode: 'Sélectionner', select_help: 'Cliquez des adresses ou tracez un rectangle sur la carte ; ou cochez-les dans la liste d’un secteur.',
    selected: (n, d) => `${n} adresse(s) sélectionnée(s) · ${d} porte(s)`, move_selection: 'Déplacer la sélection', clear_selection: 'Vider',
    misplaced_title: (n) => n > 1 ? `${n} adresses mal placées : elles ne sont pas sur la carte ; la tournée les place sur leur rue d'après leur numéro, ou à la fin` : `1 adresse mal placée : elle n'est pas sur la carte ; la tournée la place sur sa rue d'après son numéro, ou à la fin`,
    addresses_of: 'Adresses du secteur', select_street: (s) => `Sélectionner toute la rue ${s}`,
    moved: (n, to) => `${n} adresse(s) déplacée(s) vers ${to}`, assign: 'Attribuer', return_turf: 'Rendre',
    assign_turf: 'Attribuer le secteur', lease_days: 'Durée (jours)', assigned: 'Secteur attribué', returned: 'Secteur rendu',
    unassigned: 'non attribué', show: 'Voir', devices: 'Appareils', revoke: 'Révoquer', revoked: 'révoqué',
    revoke_confirm: (d) => `Révoquer l’appareil ${d} ? Ses derniers passages vous seront soumis, puis il effacera ses données.`,
    held_title: 'Passages d’appareils révoqués, à valider', held_help: 'Envoyés après la révocation de l’appareil : ils ne comptent que si vous les acceptez. Écartés, leurs réponses et notes sont effacées.',
    accept: 'Accepter', discard: 'Écarter', held_accepted: 'accepté', held_discarded: 'écarté', held_ok: 'Passage accepté : il compte désormais', held_dropped: 'Passage écarté', received: 'Reçu',
    revoked_ok: 'Appareil révoqué', invite: 'Inviter un bénévole', invite_go: 'Créer le code', join_code: 'Code d’accès',
    join_help: 'À saisir ou scanner dans l’application, une seule fois, dans les 7 jours.',
    overlaps_none: 'Aucun chevauchement.', overlap_help: 'Passages faits sur des portes qui avaient changé de bénévole.',
    mark_reviewed: 'Marquer comme vu', reviewed: 'vu', when: 'Quand', result: 'Résultat', by: 'Par', address: 'Adresse',
    position: 'Dernière position', synced: (who, n) => `${who} a synchronisé (${n} passage(s))`,
    session_expired: 'Session expirée : reconnectez-vous.', error: 'Erreur',
    priority: 'Priorité (bureaux)', stations: 'Bureaux de vote', low: 'faible', high: 'forte', registered: 'Inscrits',
    abstention: 'Abstention', no_results: 'pas de résultats', lagged: 'Mise à jour complète',
    definitions: 'Contact : une conversation. Taux : portes avec contact / portes frappées. Heures : sessions de porte-à-porte de chaque bénévole, additionnées (pauses de plus de 30 min exclues) ; un secteur compte le temps passé jusqu’à chacune de ses portes ; passages / heure par heure-bénévole, affichés après 15 min de porte-à-porte.',
  },
  en: {
    tab_sms: 'SMS', sms_title: 'Texts to volunteers', sms_not_set_up: 'Texts are not set up: sender name, polling days and provider (coordinators).', sms_audience: 'Recipients', sms_purpose: 'Purpose', sms_body: 'Text', sms_purposes: { session_reminder: 'Session reminder', team_news: 'Team news' }, sms_team: (n) => n, sms_session: (n) => `Session “${n}”`, sms_gave_no_number: 'gave no number', sms_check: 'Check', sms_send: 'Send', sms_segments: (enc, n) => `${n} text(s) (${enc === 'gsm7' ? '160 characters' : 'accents or emoji: 70 characters'} each)`, sms_verdicts: (a, r) => `${a} allowed, ${r} refused`, sms_allowed: 'allowed', sms_no_number: 'no number', sms_queued: (q, r) => `${q} text(s) queued${r ? `, ${r} refused` : ''}.`, sms_hint: 'Every text passes the rules: consent, the STOP list, 08:00–20:00 at the recipient’s, no Sundays or holidays, the eve-of-vote silence, the sender’s name and the STOP mention.', sms_inbox: 'Replies', sms_no_replies: 'No reply.', sms_state: { unread: 'unread', needs_reply: 'needs a reply', handled: 'handled', opted_out: 'STOP (removed)' }, sms_optouts: 'Opt-out list (STOP)', sms_no_optouts: 'Nobody replied STOP.', sms_outbox: 'Sent', sms_expenses: 'Expenses', sms_expenses_csv: 'Export for the accounts (CSV)', sms_day: 'Day', sms_provider: 'Provider', sms_texts: 'Texts', sms_segments_col: 'Segments', sms_uncertain: 'Uncertain', sms_cost: 'Amount', sms_number: 'Number', sms_received: 'Received', sms_source: 'Source', sms_status: 'State', sms_provider_set: (k, a) => `Provider: ${k} (${a})`, sms_no_provider: 'No provider set: texts wait in the queue.',
    skip: 'Skip to content', login_intro: 'Dashboard for coordinators and team captains.',
    login_name: 'Login', password: 'Password', sign_in: 'Sign in', sign_out: 'Sign out',
    other_language: 'Français', map: 'Map', views: 'Views', selection: 'Selection', tab_progress: 'Progress', tab_results: 'Results',
    tab_turfs: 'Turfs', tab_people: 'Volunteers', tab_overlaps: 'To review', cancel: 'Cancel', confirm: 'Confirm',
    tab_messages: 'Messages', no_channels: 'No channel.', write_to: (c) => `Write to “${c}”…`, send: 'Send', pin: 'Pin', unpin: 'Unpin', pinned: 'Pinned', read_by: (n) => `read by ${n}`, you: 'you', no_messages: 'No message yet.', new_message: (c) => `New message: ${c}`, message_to_door: 'door', message_to_street: 'street', kind_team: 'Team', kind_session: 'Session', kind_announcements: 'Announcements', kind_direct: 'Direct message',
    page_role: { volunteer: 'Volunteer', captain: 'Captain', coordinator: 'Coordinator' }, page_teams: 'Teams', page_sessions: 'Sessions (attended)', page_doors: 'Doors knocked', page_conversations: 'Conversations', page_turfs: 'Turfs held', page_activity: 'These last seven days', page_hidden: 'What this volunteer does not show does not appear here.', page_export: 'Export their data (GDPR)', page_exported: 'Data exported.', page_close: 'Close', open_page: (n) => `Open ${n}'s page`,
    tab_sessions: 'Sessions', sessions: 'Canvass sessions', no_sessions: 'No session planned or recent.',
    session_title: 'Session', session_when: 'When', meeting: 'Meeting point', signed_up: 'Signed up', checked_in: 'Checked in',
    attended: 'Attended', session_doors: 'Doors', session_contacts: 'Conversations', no_show_rate: 'No-shows',
    attended_help: 'Attended: knocked at least one door under a lease handed out in the session. No-shows: signed up and did not come, once the session is over.',
    called_off: 'called off', upcoming: 'upcoming', ongoing: 'ongoing', over: 'over', calendar_file: 'calendar (.ics)', sheet_pdf: 'paper sheet (PDF)', type_paper: 'Type in paper', paper_title: 'Results from the paper sheet', paper_code: 'Door code', paper_result: 'Result', paper_note: 'Note', paper_walked: 'Day walked', paper_more: 'Add rows', paper_before: 'typed before', paper_done: (a, d) => `${a} result(s) recorded${d ? `, ${d} typed before` : ''}`, paper_refused: (line, m) => `row ${line}: ${m}`, public_page: 'public sign-up page', without_account: (n) => `${n} without an account`, places: 'Places', save_places: 'Save', call_off: 'Call the session off', call_off_confirm: (title) => `Call off “${title}”? Those signed up will see it called off and get no more reminders; a called-off session is not reopened.`, session_saved: 'Session updated.', session_called_off: 'Session called off.',
    live_on: 'Live', live_off: 'Offline', live_error: 'Reconnecting…',
    no_streets: 'No street network imported: turfs are cut and routes computed as the crow flies, ignoring streets. Import the town\'s streets (IGN BD TOPO GeoPackage, OpenStreetMap .osm.pbf extract or GeoJSON), then cut again.',
    coordinator: 'coordinator', captain: 'captain', zoom_for_addresses: 'Zoom in to see the addresses: each square counts the doors knocked of its doors.',
    doors: 'Doors', knocked: 'Knocked', contacted: 'Contacts', contact_rate: 'Contact rate', knocks: 'Knocks',
    doors_per_hour: 'Knocks / hour', last_sync: 'Last sync', overlaps: 'Overlaps', hours: 'Hours',
    campaign: 'Campaign', teams: 'Teams', turfs: 'Turfs', volunteers: 'Volunteers', timeline: 'Knocks over time', no_knocks_yet: 'No knock yet',
    list_team: 'Team shown', list_all: 'All', list_by_team: 'Over 2,000 turfs: choose a team to see its turfs and volunteers.',
    name: 'Name', team: 'Team', holder: 'Volunteer', progress: 'Progress', never: 'never', none: '—',
    status_untouched: 'to knock', status_attempted: 'attempted', status_contacted: 'contact', status_finished: 'finished',
    status_do_not_return: 'do not return',
    filter_turf: 'Turf', filter_team: 'Team', filter_station: 'Polling station', filter_from: 'From', filter_to: 'To',
    all: 'All', export_csv: 'Export as CSV', reports_shown: 'reports counted', result_codes: 'Knock results',
    answered: 'answers', yes: 'yes', no: 'no', free_text: 'Free text: answers in the reports export only.',
    streets_of: 'Streets of the turf', street: 'Street', addresses: 'Addresses', move: 'Move', move_street: 'Move the street', move_address: 'Move this address',
    move_to: 'To volunteer', move_to_turf: 'or to turf', choose: '— choose —',
    select_mode: 'Select', select_help: 'Click addresses or draw a rectangle on the map; or tick them in a turf\'s list.',
    selected: (n, d) => `${n} address(es) selected · ${d} door(s)`, move_selection: 'Move the selection', clear_selection: 'Clear',
    misplaced_title: (n) => `${n} misplaced address${n > 1 ? 'es' : ''}: not on the map; the route places them on their street by their number, or last`,
    addresses_of: 'Addresses of the turf', select_street: (s) => `Select the whole street ${s}`,
    moved: (n, to) => `${n} address(es) moved to ${to}`, assign: 'Assign', return_turf: 'Return',
    assign_turf: 'Assign the turf', lease_days: 'Lease (days)', assigned: 'Turf assigned', returned: 'Turf returned',
    unassigned: 'unassigned', show: 'Show', devices: 'Devices', revoke: 'Revoke', revoked: 'revoked',
    revoke_confirm: (d) => `Revoke device ${d}? Its last reports will wait for your review, then it wipes its data.`,
    held_title: 'Reports from revoked devices, to review', held_help: 'Sent after the device was revoked: they count only if you accept them. Discarded, their answers and notes are erased.',
    accept: 'Accept', discard: 'Discard', held_accepted: 'accepted', held_discarded: 'discarded', held_ok: 'Report accepted: it counts from now on', held_dropped: 'Report discarded', received: 'Received',
    revoked_ok: 'Device revoked', invite: 'Invite a volunteer', invite_go: 'Create the code', join_code: 'Join code',
    join_help: 'Type or scan it in the app, once, within 7 days.',
    overlaps_none: 'No overlaps.', overlap_help: 'Knocks made on doors that had moved to another volunteer.',
    mark_reviewed: 'Mark as reviewed', reviewed: 'reviewed', when: 'When', result: 'Result', by: 'By', address: 'Address',
    position: 'Last position', synced: (who, n) => `${who} synced (${n} report(s))`,
    session_expired: 'Session expired: sign in again.', error: 'Error',
    priority: 'Priority (stations)', stations: 'Polling stations', low: 'low', high: 'high', registered: 'Registered',
    abstention: 'Abstention', no_results: 'no results', lagged: 'Full refresh',
    definitions: 'Contact: a conversation. Rate: doors with a contact / doors knocked. Hours: each volunteer\'s canvassing sessions, added up (breaks over 30 min left out); a turf counts the time spent reaching each of its doors; knocks / hour per volunteer-hour, shown after 15 min of canvassing.',
  },
};

const STATUSES = ['untouched', 'attempted', 'contacted', 'finished', 'do_not_return'];
const state = {
  // French first: English when chosen (remembered on this browser).
  lang: localStorage.getItem('doorstep.lang') || 'fr',
  msg: { since: {}, channels: [], messages: {}, open: null }, session: null, view: 'progress', progress: null, buildings: [], streets: null, stations: [], campaign: null,
  selectedTurf: null, listTeam: '', addressListOpen: false, choropleth: [], selection: new Set(), selecting: false, events: null, refreshTimer: null, counts: { streets: 0, buildings: 0, updates: 0, stations: 0, cells: 0 }, mapMode: null, cells: [],
};
window.doorstepState = state; // read by the browser tests

const $ = (id) => document.getElementById(id);
const t = (key, ...args) => { const v = TEXT[state.lang][key] ?? TEXT.fr[key] ?? key; return typeof v === 'function' ? v(...args) : v; };
/** The server's messages are "français / English": show the reader's half. */
const serverText = (m) => { const parts = String(m || '').split(' / '); return parts.length === 2 ? parts[state.lang === 'en' ? 1 : 0] : m; };

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const nf = () => new Intl.NumberFormat(state.lang === 'en' ? 'en-GB' : 'fr-FR', { maximumFractionDigits: 1 });
const num = (v) => (v === null || v === undefined ? t('none') : nf().format(v));
const pct = (v) => (v === null || v === undefined ? t('none') : new Intl.NumberFormat(state.lang === 'en' ? 'en-GB' : 'fr-FR', { style: 'percent', maximumFractionDigits: 0 }).format(v));
const when = (ms) => (ms ? new Date(ms).toLocaleString(state.lang === 'en' ? 'en-GB' : 'fr-FR', { dateStyle: 'short', timeStyle: 'short' }) : t('never'));

// ----- HTTP ----------------------------------------------------------------------------------------

class ApiError extends Error { constructor(status, code, message) { super(message); this.status = status; this.code = code; } }

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf_token;
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    if (r.status === 401 && path !== '/api/v1/session') showLogin(t('session_expired'));
    throw new ApiError(r.status, data.code, serverText(data.message) || `${r.status}`);
  }
  return data;
}

let toastTimer;
function toast(msg, bad) {
  const el = $('toast');
  el.textContent = msg;
  el.className = 'toast show' + (bad ? ' bad' : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, 4000);
}
const fail = (e) => toast(`${t('error')} : ${e.message}`, true);

// ----- language ------------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  setLive($('live').dataset.state);
  drawLegend();
  if (selectButton) selectButton.title = t('select_help');
  if (state.session) { renderWho(); renderView(); }
}
for (const b of document.querySelectorAll('.lang-toggle')) b.addEventListener('click', () => {
  state.lang = state.lang === 'fr' ? 'en' : 'fr';
  localStorage.setItem('doorstep.lang', state.lang);
  applyLanguage();
});

// ----- sign in -------------------------------------------------------------------------------------

function showLogin(message) {
  state.session = null;
  if (state.events) { state.events.close(); state.events = null; }
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message || '';
  $('login-name').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    state.session = await api('POST', '/api/v1/session', { login: $('login-name').value, password: $('login-password').value });
    $('login-password').value = '';
    await start();
  } catch (e) {
    $('login-error').textContent = e.message;
  } finally {
    $('login-submit').disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } catch (e) { /* already gone */ }
  showLogin('');
});

function renderWho() {
  const me = state.session.me;
  $('who').textContent = `${me.display_name} · ${t(me.role)}${state.campaign ? ' · ' + state.campaign.name : ''}`;
}

// ----- map -----------------------------------------------------------------------------------------

let map, streetLayer, buildingLayer, turfLayer, stationLayer, peopleLayer;
// One canvas for every layer: a canvas on top of another would take its clicks and tooltips.
// Order within it: stations, turfs, streets, buildings, people (re-drawn layers are sent back).
let renderer;
const colour = (status) => getComputedStyle(document.documentElement).getPropertyValue('--' + status).trim();

/** A result code as the volunteer chose it: its label in the page's language. */
function codeLabel(code) {
  const c = state.campaign?.result_codes.find((x) => x.code === code);
  return c ? (state.lang === 'en' ? c.label_en : c.label_fr) : code;
}

function drawLegend() {
  const el = $('legend');
  // replaceChildren writes a null as the text "null": only real nodes go in.
  el.replaceChildren(...[...STATUSES.map((s) => h('span', {}, h('i', { class: 'swatch-' + s }), t('status_' + s))),
    state.counts.stations ? h('span', { id: 'legend-priority' }, h('i', { class: 'swatch-priority' }), `${t('priority')} : ${t('low')} → ${t('high')}`) : null].filter(Boolean));
  for (const s of STATUSES) for (const i of el.querySelectorAll('.swatch-' + s)) i.style.background = colour(s);
}

function initMap() {
  if (map) return;
  map = L.map('map', { preferCanvas: true, zoomControl: true, keyboard: true });
  renderer = L.canvas({ padding: 0.2 });
  if (state.session.tile_url) L.tileLayer(state.session.tile_url, { maxZoom: 19, attribution: '© OpenStreetMap' }).addTo(map);
  stationLayer = L.layerGroup().addTo(map);
  turfLayer = L.layerGroup().addTo(map);
  streetLayer = L.layerGroup().addTo(map);
  buildingLayer = L.layerGroup().addTo(map);
  peopleLayer = L.layerGroup().addTo(map);
  cellLayer = L.layerGroup().addTo(map);
  const Hint = L.Control.extend({ onAdd() { return h('div', { id: 'zoom-hint', class: 'map-hint', hidden: true }, t('zoom_for_addresses')); } });
  new Hint({ position: 'topright' }).addTo(map);
  map.on('moveend', () => { if (largeMap()) scheduleMapPart(); });
  map.setView([46.6, 2.4], 6);
  window.doorstepMap = map; // read by the browser tests
  initSelection();
}

// ----- selection of addresses (map and lists) ------------------------------------------------------

const markers = new Map();
let selectButton, selectBox, boxedAt = 0;

/** A map button toggles selection mode: clicks toggle addresses, a drag draws a rectangle. */
function initSelection() {
  const Control = L.Control.extend({
    onAdd() {
      selectButton = h('button', { type: 'button', id: 'select-mode', class: 'secondary map-button', 'aria-pressed': 'false', 'data-i18n': 'select_mode' }, t('select_mode'));
      selectButton.addEventListener('click', () => setSelecting(!state.selecting));
      const box = h('div', { class: 'leaflet-bar select-control' }, selectButton);
      selectButton.title = t('select_help');
      L.DomEvent.disableClickPropagation(box);
      return box;
    },
  });
  new Control({ position: 'topleft' }).addTo(map);
  let from = null;
  map.on('mousedown', (ev) => {
    if (!state.selecting) return;
    from = ev.latlng;
    selectBox = L.rectangle(L.latLngBounds(from, from), { weight: 1, color: '#0b57d0', dashArray: '4', fillOpacity: 0.08, interactive: false }).addTo(map);
  });
  map.on('mousemove', (ev) => { if (from && selectBox) selectBox.setBounds(L.latLngBounds(from, ev.latlng)); });
  map.on('mouseup', (ev) => {
    if (!from) return;
    const bounds = L.latLngBounds(from, ev.latlng);
    const dragged = map.latLngToContainerPoint(from).distanceTo(map.latLngToContainerPoint(ev.latlng)) > 4;
    from = null;
    if (dragged) boxedAt = Date.now(); // the browser's click after this drag is not a toggle
    selectBox?.remove();
    selectBox = null;
    if (!dragged) return; // a click: the marker's own handler toggles it
    const inside = state.buildings.filter((b) => bounds.contains([b.lat, b.lon]));
    for (const b of inside) state.selection.add(b.id);
    selectionChanged();
  });
}

// Escape leaves selection mode (the map's own keys stay as they are).
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.selecting && !$('dialog').open) setSelecting(false); });

function setSelecting(on) {
  state.selecting = on;
  selectButton.setAttribute('aria-pressed', String(on));
  selectButton.classList.toggle('on', on);
  $('map').classList.toggle('selecting', on);
  if (on) { map.dragging.disable(); map.boxZoom.disable(); } else { map.dragging.enable(); map.boxZoom.enable(); }
}

function toggleSelected(id, on) {
  if (on ?? !state.selection.has(id)) state.selection.add(id); else state.selection.delete(id);
  selectionChanged();
}

function selectionChanged() {
  // Only addresses still on the map stay selected (a refresh may have moved them out of reach).
  const known = new Set(state.buildings.map((b) => b.id));
  for (const id of [...state.selection]) if (!known.has(id)) state.selection.delete(id);
  for (const [id, m] of markers) m.setStyle(markerStyle(m.building));
  for (const box of document.querySelectorAll('input[data-building]')) box.checked = state.selection.has(box.dataset.building);
  renderSelectionBar();
}

function selectedBuildings() {
  return state.buildings.filter((b) => state.selection.has(b.id));
}

function renderSelectionBar() {
  const bar = $('selection-bar');
  const bs = selectedBuildings();
  bar.hidden = bs.length === 0;
  if (!bs.length) { bar.replaceChildren(); return; }
  bar.replaceChildren(
    h('span', { id: 'selection-count' }, t('selected', bs.length, bs.reduce((a, b) => a + b.doors, 0))),
    h('button', { type: 'button', id: 'move-selection', onclick: moveSelection }, t('move_selection')),
    h('button', { type: 'button', class: 'secondary', id: 'clear-selection', onclick: () => { state.selection.clear(); selectionChanged(); } }, t('clear_selection')));
}

function drawStreets(net) {
  streetLayer.clearLayers();
  state.counts.streets = net.edges.length;
  const lines = net.edges.map((e) => [net.nodes[e.from], net.nodes[e.to]].map(([lon, lat]) => [lat, lon]));
  if (lines.length) L.polyline(lines, { color: '#9aa4ae', weight: 2, opacity: 0.8, renderer, interactive: false }).addTo(streetLayer);
}

function hull(points) {
  const p = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [], upper = [];
  for (const x of p) { while (lower.length >= 2 && cross(lower.at(-2), lower.at(-1), x) <= 0) lower.pop(); lower.push(x); }
  for (const x of p.reverse()) { while (upper.length >= 2 && cross(upper.at(-2), upper.at(-1), x) <= 0) upper.pop(); upper.push(x); }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

function drawBuildings() {
  buildingLayer.clearLayers();
  turfLayer.clearLayers();
  state.counts.buildings = state.buildings.length;
  const byTurf = new Map();
  markers.clear();
  for (const b of state.buildings) {
    // A position that cannot be right (at (0, 0), far outside its turf) is listed, not drawn.
    if (b.misplaced) continue;
    const m = L.circleMarker([b.lat, b.lon], { renderer, fillColor: colour(b.status), fillOpacity: 0.95, ...markerStyle(b) });
    m.building = b;
    markers.set(b.id, m);
    // In selection mode (or with Shift or Ctrl), a click toggles the address; otherwise it opens its card.
    m.on('click', (ev) => {
      const e = ev.originalEvent;
      if (state.selecting || e?.shiftKey || e?.ctrlKey || e?.metaKey) { if (Date.now() - boxedAt > 300) toggleSelected(b.id); return; }
      m.bindPopup(buildingPopup(b)).openPopup();
    });
    m.addTo(buildingLayer);
    if (b.turf_id) { if (!byTurf.has(b.turf_id)) byTurf.set(b.turf_id, []); byTurf.get(b.turf_id).push(b); }
  }
  for (const [turf, bs] of byTurf) {
    const doors = bs.reduce((a, b) => a + b.doors, 0), knocked = bs.reduce((a, b) => a + b.knocked, 0);
    const share = doors ? knocked / doors : 0;
    const ring = hull(bs.map((b) => [b.lat, b.lon]));
    if (ring.length < 3) continue;
    L.polygon(ring, {
      renderer, weight: turf === state.selectedTurf ? 3 : 1, color: turf === state.selectedTurf ? '#0b57d0' : '#5f6b7a',
      fillColor: `hsl(${Math.round(210 - 90 * share)}, 70%, ${Math.round(88 - 40 * share)}%)`, fillOpacity: 0.35, interactive: false,
    }).addTo(turfLayer);
  }
  turfLayer.eachLayer((l) => l.bringToBack());
  stationLayer.eachLayer((l) => l.bringToBack());
}

function markerStyle(b) {
  const chosen = state.selection.has(b.id);
  return { radius: chosen ? 7 : b.turf_id === state.selectedTurf ? 6 : 4, weight: chosen ? 3 : 1, color: chosen ? '#202124' : '#fff' };
}

function buildingPopup(b) {
  const turf = state.progress?.turfs.find((x) => x.id === b.turf_id);
  return h('div', {},
    h('strong', {}, `${b.house_number} ${b.street}`), h('br'),
    `${t('turfs')} : ${turf ? turf.name : t('none')}`, h('br'),
    `${t('doors')} : ${b.doors} · ${t('knocked')} : ${b.knocked} · ${t('contacted')} : ${b.contacted}`, h('br'),
    t('status_' + b.status),
    b.turf_id ? h('div', { class: 'row-actions' },
      h('button', { type: 'button', onclick: () => moveStreet(b.turf_id, b.street) }, t('move_street')),
      h('button', { type: 'button', class: 'secondary', onclick: () => moveDoors(b) }, t('move_address'))) : null);
}

function drawPeople() {
  peopleLayer.clearLayers();
  for (const v of state.progress?.volunteers || []) {
    if (!v.position) continue;
    L.circleMarker([v.position.lat, v.position.lon], { renderer, radius: 8, color: '#202124', weight: 2, fillColor: '#fbbc04', fillOpacity: 1 })
      .bindTooltip(`${v.name} · ${when(v.position_ms)}`).addTo(peopleLayer);
  }
}

/** The polling-station priority choropleth: darker is higher priority (share of the campaign's highest). */
async function drawStations() {
  stationLayer.clearLayers();
  state.choropleth = [];
  let fc;
  try { fc = await api('GET', '/api/v1/stations.geojson'); } catch (e) { return; }
  const max = Math.max(0, ...fc.features.map((f) => f.properties?.priority || 0));
  state.counts.stations = fc.features.length;
  drawLegend();
  if (!fc.features.length) return;
  const opacity = (p) => 0.05 + 0.5 * (max ? (p || 0) / max : 0);
  const layer = L.geoJSON(fc, {
    renderer,
    style: (f) => ({ weight: 1, color: '#7b1fa2', fillColor: '#7b1fa2', fillOpacity: opacity(f.properties?.priority) }),
    onEachFeature: (f, layer) => {
      const p = f.properties || {};
      state.choropleth.push({ id: p.id, priority: p.priority || 0, fillOpacity: opacity(p.priority) });
      layer.bindTooltip(() => [`${t('filter_station')} ${p.id}${p.name ? ' · ' + p.name : ''}`,
        `${t('priority')} : ${num(Math.round(p.priority || 0))}`,
        p.registered !== null && p.registered !== undefined ? `${t('registered')} : ${num(p.registered)} · ${t('abstention')} : ${pct(p.abstention)}` : t('no_results'),
        `${t('doors')} : ${num(p.doors)}`].join('\n'), { sticky: true, className: 'station-tip' });
    },
  }).addTo(stationLayer);
  layer.eachLayer((l) => l.bringToBack());
}

async function fitMap() {
  if (largeMap()) {
    // The squares holding at least 0.5 % of the doors (a stray address does not widen the view):
    // of 0.1°, then, for a campaign within a few of them, of 0.01° inside those.
    const bounds = (cells) => {
      const total = cells.reduce((a, c) => a + c.doors, 0);
      const kept = cells.filter((c) => c.doors >= total * 0.005);
      return kept.length ? L.latLngBounds(kept.flatMap((c) => [[c.south, c.west], [c.south + c.size, c.west + c.size]])) : null;
    };
    const coarse = await api('GET', '/api/v1/map/cells?level=1');
    let b = bounds(coarse);
    if (b && coarse.length <= 50) {
      const box = `south=${b.getSouth()}&west=${b.getWest()}&north=${b.getNorth()}&east=${b.getEast()}`;
      b = bounds(await api('GET', `/api/v1/map/cells?level=2&${box}`)) || b;
    }
    if (b) map.fitBounds(b);
    return;
  }
  const pts = state.buildings.filter((b) => !b.misplaced).map((b) => [b.lat, b.lon]);
  if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.05));
}

// ----- a large campaign's map (issue 21): squares at low zoom, the viewport's addresses up close ---
// A coordinator whose campaign holds more than MAP_FULL_DOORS doors loads the map by part: below
// BUILDINGS_ZOOM, squares of 1°, 0.1° or 0.01° with their doors and knocked doors (kept by the
// server's writes, a few hundred rows whatever the campaign); from BUILDINGS_ZOOM, the addresses
// in view; from STREETS_ZOOM the streets of the view. `?map_full=N` on the page's address sets the limit (the browser tests use it).
const MAP_FULL_DOORS = Number(new URLSearchParams(location.search).get('map_full')) || 20000;
const BUILDINGS_ZOOM = 16;
const STREETS_ZOOM = 13;
let cellLayer, mapPartTimer = null;
const largeMap = () => state.mapMode === 'viewport';

function viewBox(pad) {
  const b = map.getBounds().pad(pad);
  const c = (x, lo, hi) => Math.min(hi, Math.max(lo, x)).toFixed(6);
  return `south=${c(b.getSouth(), -90, 90)}&west=${c(b.getWest(), -180, 180)}&north=${c(b.getNorth(), -90, 90)}&east=${c(b.getEast(), -180, 180)}`;
}

function scheduleMapPart() {
  clearTimeout(mapPartTimer);
  mapPartTimer = setTimeout(() => loadMapPart().catch(fail), 150);
}

async function loadMapPart() {
  const zoom = map.getZoom();
  state.mapPartZoom = null;
  // The selected turf's addresses stay loaded wherever the view is (its lists and moves use them).
  const turf = state.selectedTurf;
  const mine = turf ? api('GET', `/api/v1/map/buildings?turf=${encodeURIComponent(turf)}`) : Promise.resolve([]);
  const streets = zoom >= STREETS_ZOOM ? api('GET', `/api/v1/map/streets?${viewBox(0.25)}`) : Promise.resolve(null);
  let inView = [];
  if (zoom >= BUILDINGS_ZOOM) {
    [inView] = await Promise.all([api('GET', `/api/v1/map/buildings?${viewBox(0.25)}`), mine]);
    state.cells = [];
  } else {
    const level = zoom <= 8 ? 0 : zoom <= 11 ? 1 : 2;
    state.cells = await api('GET', `/api/v1/map/cells?level=${level}&${viewBox(0.1)}`);
  }
  const seen = new Set(inView.map((b) => b.id));
  state.buildings = inView.concat((await mine).filter((b) => !seen.has(b.id)));
  const net = await streets;
  drawStreets(net || { nodes: [], edges: [] });
  // No street in a view holding addresses: the campaign has no street network (said plainly).
  if (net) $('no-streets').hidden = net.edges.length > 0 || (state.cells.length === 0 && state.buildings.length === 0);
  state.mapPartZoom = zoom;
  drawCells();
  drawBuildings();
  selectionChanged();
}

function drawCells() {
  cellLayer.clearLayers();
  state.counts.cells = state.cells.length;
  for (const c of state.cells) {
    const share = c.doors ? c.knocked / c.doors : 0;
    L.rectangle([[c.south, c.west], [c.south + c.size, c.west + c.size]], {
      renderer, weight: 1, color: '#5f6b7a', fillOpacity: 0.45,
      fillColor: `hsl(${Math.round(210 - 90 * share)}, 70%, ${Math.round(88 - 40 * share)}%)`,
    }).bindTooltip(`${t('doors')} : ${num(c.doors)} · ${t('knocked')} : ${num(c.knocked)} (${pct(share)}) · ${t('contacted')} : ${num(c.contacted)}`)
      .addTo(cellLayer);
  }
  const hint = $('zoom-hint');
  if (hint) hint.hidden = !(largeMap() && map.getZoom() < BUILDINGS_ZOOM);
}

// ----- data ----------------------------------------------------------------------------------------

const lastRefresh = { at: 0, took: 0 };

async function refresh() {
  const started = performance.now();
  // The whole map in one read unless a coordinator's campaign is large (then by part, above).
  const whole = state.mapMode === 'full';
  // A national campaign's turfs and volunteers come one team at a time (?team=).
  // `?list_max=N` on the page's address lists by team from N turfs (the browser tests use it).
  const listQuery = new URLSearchParams();
  if (state.listTeam) listQuery.set('team', state.listTeam);
  const listMax = new URLSearchParams(location.search).get('list_max');
  if (listMax) listQuery.set('list_max', listMax);
  const progressUrl = '/api/v1/progress' + (listQuery.size ? '?' + listQuery : '');
  const [progress, buildings] = await Promise.all([api('GET', progressUrl), whole ? api('GET', '/api/v1/map/buildings') : null]);
  state.progress = progress;
  state.mapMode = state.session.me.role === 'coordinator' && (progress.campaign?.doors || 0) > MAP_FULL_DOORS ? 'viewport' : 'full';
  if (largeMap()) {
    await loadMapPart();
  } else {
    state.buildings = buildings ?? await api('GET', '/api/v1/map/buildings');
    state.cells = [];
    drawCells();
    drawBuildings();
  }
  Object.assign(lastRefresh, { at: Date.now(), took: performance.now() - started });
  drawPeople();
  selectionChanged();
  // What waits for the captain on the "À vérifier" tab: overlaps not yet seen, held reports.
  const open = progress.campaign.overlaps + (progress.held_waiting || 0);
  $('overlap-badge').hidden = !open;
  $('overlap-badge').textContent = open;
  renderView(true);
  state.counts.updates += 1;
}

/**
 * Live events arrive as fast as phones sync: one pending refresh covers every event until it runs
 * (a debounce reset by each event would never run under a steady stream), at least 300 ms after
 * the first event, and no sooner than four times the last refresh took after it ended (a big
 * campaign's figures take a while to compute: docs/benchmarks.md).
 */
function scheduleRefresh() {
  if (state.refreshTimer) return;
  const wait = Math.max(300, lastRefresh.at + 4 * lastRefresh.took - Date.now());
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refresh().catch(fail); }, wait);
}

function setLive(s) {
  const el = $('live');
  el.dataset.state = s || 'off';
  $('live-text').textContent = t(s === 'on' ? 'live_on' : s === 'error' ? 'live_error' : 'live_off');
}

function listen() {
  if (state.events) state.events.close();
  const es = new EventSource('/api/v1/events');
  state.events = es;
  es.addEventListener('ready', () => setLive('on'));
  es.addEventListener('sync', (ev) => {
    const e = JSON.parse(ev.data);
    const who = state.progress?.volunteers.find((v) => v.id === e.volunteer_id)?.name || e.volunteer_id;
    toast(t('synced', who, e.reports));
    scheduleRefresh();
  });
  es.addEventListener('turfs', scheduleRefresh);
  es.addEventListener('message', (ev) => {
    const e = JSON.parse(ev.data);
    state.msg.heard = (state.msg.heard || 0) + 1;
    loadMessages().then(() => {
      const c = state.msg.channels.find((x) => x.id === e.channel_id);
      if (state.view !== 'messages' || state.msg.open !== e.channel_id) toast(t('new_message', c ? c.title : e.channel_id));
      if (state.view === 'messages') messagesView($('view-messages'));
    }).catch(fail);
  });
  es.addEventListener('lagged', scheduleRefresh);
  es.onerror = () => {
    setLive('error');
    // The stream closes when the session ends: check, and sign in again if so.
    api('GET', '/api/v1/session').catch(() => {});
  };
}

async function start() {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  state.campaign = await api('GET', '/api/v1/campaign');
  renderWho();
  initMap();
  // Whether the map loads whole or by part, known before the first refresh (which then reads the
  // progress and the map side by side): the campaign's doors, from its squares of 1°.
  if (state.session.me.role === 'coordinator') {
    const squares = await api('GET', '/api/v1/map/cells?level=0');
    state.mapMode = squares.reduce((a, c) => a + c.doors, 0) > MAP_FULL_DOORS ? 'viewport' : 'full';
  } else state.mapMode = 'full';
  // A large campaign's streets come by part with its addresses (loadMapPart).
  const [streets] = await Promise.all([largeMap() ? null : api('GET', '/api/v1/map/streets'), refresh()]);
  if (streets) {
    state.streets = streets;
    // A campaign with addresses but no street network is told so plainly.
    $('no-streets').hidden = (streets.edges || []).length > 0 || (state.progress?.campaign?.doors ?? 1) === 0;
    drawStreets(streets);
  }
  await fitMap();
  drawStations();
  api('GET', '/api/v1/stations').then((s) => { state.stations = s.stations || s; }).catch(() => {});
  // The messages tab's badge counts what is unread from the start.
  loadMessages().catch(() => {});
  listen();
  setTimeout(() => map.invalidateSize(), 50);
}

// ----- views ---------------------------------------------------------------------------------------

function selectTab(view, focus) {
  state.view = view;
  for (const b of document.querySelectorAll('[role=tab]')) {
    const on = b.dataset.view === view;
    b.setAttribute('aria-selected', on);
    b.tabIndex = on ? 0 : -1;
    if (on && focus) b.focus();
    $(b.getAttribute('aria-controls')).hidden = !on;
  }
  renderView();
}
for (const b of document.querySelectorAll('[role=tab]')) {
  b.addEventListener('click', () => selectTab(b.dataset.view));
  b.addEventListener('keydown', (ev) => {
    const tabs = [...document.querySelectorAll('[role=tab]')];
    const i = tabs.indexOf(b);
    const next = ev.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length] : ev.key === 'ArrowLeft' ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
    if (next) { ev.preventDefault(); selectTab(next.dataset.view, true); }
  });
}

function renderView(live) {
  if (!state.progress) return;
  const v = state.view;
  // A live update leaves the SMS composer alone: what is typed and its verdict stay.
  if (live && v === 'sms') return;
  const el = $('view-' + v);
  if (v === 'progress') el.replaceChildren(...progressView().filter(Boolean));
  else if (v === 'results') resultsView(el);
  else if (v === 'turfs') el.replaceChildren(...turfsView().filter(Boolean));
  else if (v === 'people') el.replaceChildren(...peopleView().filter(Boolean));
  else if (v === 'overlaps') overlapsView(el);
  else if (v === 'sessions') sessionsView(el);
  else if (v === 'messages') messagesView(el);
  else if (v === 'sms') smsView(el);
  drawMeetingPoints(v === 'sessions' ? state.sessions : []);
}

function statCards(s) {
  const card = (id, value, label) => h('div', { class: 'stat' }, h('b', { id: 'stat-' + id }, value), h('span', {}, label));
  return h('div', { class: 'stats' },
    card('doors', num(s.doors), t('doors')), card('knocked', num(s.knocked), t('knocked')),
    card('contacted', num(s.contacted), t('contacted')), card('rate', pct(s.contact_rate), t('contact_rate')),
    card('knocks', num(s.knocks), t('knocks')), card('per-hour', num(s.doors_per_hour), t('doors_per_hour')),
    card('sync', when(s.last_sync_ms), t('last_sync')), card('overlaps', num(s.overlaps), t('overlaps')));
}

function chart(p) {
  const data = p.timeline.slice(-48);
  const W = 480, H = 140, pad = 18;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${t('timeline')} : ${data.map((b) => `${when(b.start_ms)} ${b.knocks}`).join(', ')}`);
  const max = Math.max(1, ...data.map((b) => b.knocks));
  const bw = data.length ? (W - pad) / data.length : 0;
  data.forEach((b, i) => {
    for (const [cls, v] of [['k', b.knocks], ['c', b.contacts]]) {
      const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      const hgt = ((H - pad) * v) / max;
      r.setAttribute('class', cls);
      r.setAttribute('x', pad + i * bw + 1);
      r.setAttribute('width', Math.max(1, bw - 2));
      r.setAttribute('y', H - pad - hgt);
      r.setAttribute('height', hgt);
      svg.append(r);
    }
  });
  const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  label.setAttribute('x', pad);
  label.setAttribute('y', 10);
  // An empty chart says so, rather than a scale of nothing ("max 1").
  const none = data.every((b) => !b.knocks);
  label.textContent = none ? t('no_knocks_yet') : `max ${max}`;
  svg.append(label);
  return svg;
}

function table(columns, rows, onRow) {
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
    h('tbody', {}, rows.map((r) => {
      const tr = h('tr', { class: onRow && onRow.selected?.(r) ? 'selected' : null }, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.value(r))));
      return tr;
    })));
}

function bar(share) {
  const b = h('div', { class: 'bar', role: 'img', 'aria-label': pct(share) }, h('i'));
  b.firstChild.style.width = `${Math.round(100 * (share || 0))}%`;
  return b;
}

/** Columns of the progress tables (built at each render: labels follow the language). */
function statCols() {
  return [
    { label: t('doors'), num: true, value: (r) => num(r.stats.doors) },
    { label: t('knocked'), value: (r) => bar(r.stats.doors ? r.stats.knocked / r.stats.doors : 0) },
    { label: t('contact_rate'), num: true, value: (r) => pct(r.stats.contact_rate) },
    { label: t('doors_per_hour'), num: true, value: (r) => num(r.stats.doors_per_hour) },
    { label: t('last_sync'), value: (r) => when(r.stats.last_sync_ms) },
  ];
}

/**
 * Which team's turfs and volunteers are listed: every one in reach ("Toutes"), or one team's. A
 * campaign of more than 2,000 turfs in reach lists them one team at a time.
 */
function teamPicker(view) {
  const p = state.progress;
  if (!p.teams.length) return null;
  const s = h('select', { id: 'list-team-' + view, onchange: () => { state.listTeam = s.value; refresh().catch(fail); } },
    h('option', { value: '' }, p.listed === 'all' ? t('list_all') : t('choose')),
    p.teams.map((x) => h('option', { value: x.id, selected: x.id === state.listTeam }, x.name)));
  return h('div', { class: 'filters' }, h('div', {}, h('label', { for: 'list-team-' + view }, t('list_team')), s),
    p.listed === 'by_team' ? h('p', { class: 'muted', id: 'list-by-team-' + view }, t('list_by_team')) : null);
}

function progressView() {
  const p = state.progress;
  const nameCol = { label: t('name'), value: (r) => r.name };
  return [
    h('h2', {}, t('campaign')), statCards(p.campaign),
    h('p', { class: 'muted' }, t('definitions')),
    h('h2', {}, t('timeline')), chart(p),
    p.teams.length ? h('h2', {}, t('teams')) : null, p.teams.length ? table([nameCol, ...statCols()], p.teams) : null,
    h('h2', {}, t('volunteers')), teamPicker('progress'),
    table([nameCol, { label: t('knocks'), num: true, value: (r) => num(r.stats.knocks) }, { label: t('contact_rate'), num: true, value: (r) => pct(r.stats.contact_rate) },
      { label: t('doors_per_hour'), num: true, value: (r) => num(r.stats.doors_per_hour) }, { label: t('last_sync'), value: (r) => when(r.stats.last_sync_ms) }], p.volunteers),
  ];
}

// Results ------------------------------------------------------------------------------------------

const filters = { turf: '', team: '', station: '', from: '', to: '' };
function filterQuery() {
  const q = new URLSearchParams();
  if (filters.turf) q.set('turf', filters.turf);
  if (filters.team) q.set('team', filters.team);
  if (filters.station) q.set('station', filters.station);
  if (filters.from) q.set('from_ms', new Date(filters.from + 'T00:00').getTime());
  if (filters.to) q.set('to_ms', new Date(filters.to + 'T00:00').getTime() + 86400000);
  return q.toString();
}

async function resultsView(el) {
  const p = state.progress;
  const select = (key, label, options) => {
    const s = h('select', { id: 'filter-' + key, onchange: () => { filters[key] = s.value; resultsView(el); } },
      h('option', { value: '' }, t('all')), options.map(([v, l]) => h('option', { value: v, selected: filters[key] === v }, l)));
    return h('div', {}, h('label', { for: 'filter-' + key }, label), s);
  };
  const date = (key, label) => {
    const i = h('input', { id: 'filter-' + key, type: 'date', value: filters[key], onchange: () => { filters[key] = i.value; resultsView(el); } });
    return h('div', {}, h('label', { for: 'filter-' + key }, label), i);
  };
  const stations = (Array.isArray(state.stations) ? state.stations : []).map((s) => [s.id, s.id]);
  const q = filterQuery();
  const head = h('div', { class: 'filters' },
    select('turf', t('filter_turf'), p.turfs.map((x) => [x.id, x.name])),
    p.teams.length ? select('team', t('filter_team'), p.teams.map((x) => [x.id, x.name])) : null,
    stations.length ? select('station', t('filter_station'), stations) : null,
    date('from', t('filter_from')), date('to', t('filter_to')),
    h('div', {}, h('a', { href: '/api/v1/results.csv' + (q ? '?' + q : ''), download: 'resultats.csv', id: 'results-csv' }, t('export_csv'))));
  let r;
  try { r = await api('GET', '/api/v1/results' + (q ? '?' + q : '')); } catch (e) { fail(e); return; }
  const label = (qid, key) => (key === 'yes' || key === 'no' ? t(key) : key);
  const dist = (pairs, total, lbl) => pairs.map(([k, n]) => h('div', { class: 'row' }, h('span', {}, lbl(k)), bar(total ? n / total : 0), h('span', { class: 'num' }, num(n))));
  el.replaceChildren(head,
    h('p', {}, h('b', { id: 'results-count' }, num(r.reports)), ' ', t('reports_shown')),
    h('div', { class: 'question' }, h('h2', {}, t('result_codes')), dist(r.result_codes.filter(([, n]) => n), r.reports, codeLabel)),
    ...r.questions.map((qq) => h('div', { class: 'question' },
      h('h2', {}, state.lang === 'en' ? qq.text_en : qq.text_fr), h('p', { class: 'muted' }, `${num(qq.answered)} ${t('answered')}`),
      qq.counts.length ? dist(qq.counts, qq.answered, (k) => label(qq.question_id, k)) : h('p', { class: 'muted' }, t('free_text')))));
}

// Turfs --------------------------------------------------------------------------------------------

function volunteerOptions(selected) {
  return [h('option', { value: '' }, t('choose')), ...state.progress.volunteers.map((v) => h('option', { value: v.id, selected: v.id === selected }, v.name))];
}

function turfsView() {
  const p = state.progress;
  const name = (id) => p.volunteers.find((v) => v.id === id)?.name || id;
  const rows = p.turfs.map((r) => r);
  const out = [h('h2', {}, t('turfs')), teamPicker('turfs'), table([
    { label: t('name'), value: (r) => h('button', { type: 'button', class: 'link', 'data-turf': r.id, onclick: () => selectTurf(r.id).catch(fail) }, r.name) },
    { label: t('holder'), value: (r) => (r.volunteer_id ? name(r.volunteer_id) : h('span', { class: 'muted' }, t('unassigned'))) },
    ...statCols().slice(0, 2),
    { label: '', value: (r) => h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => assignTurf(r) }, t('assign')),
      r.volunteer_id ? h('button', { type: 'button', class: 'secondary', onclick: () => returnTurf(r) }, t('return_turf')) : null,
      h('a', { href: `/api/v1/turfs/${encodeURIComponent(r.id)}/sheet.pdf`, download: '', 'data-sheet': r.id }, t('sheet_pdf')),
      h('button', { type: 'button', class: 'secondary', 'data-paper': r.id, onclick: () => typePaper(r) }, t('type_paper'))) },
  ], rows, { selected: (r) => r.id === state.selectedTurf })];
  if (state.selectedTurf) {
    const bs = state.buildings.filter((b) => b.turf_id === state.selectedTurf);
    const streets = new Map();
    for (const b of bs) { const s = streets.get(b.street) || { street: b.street, n: 0, doors: 0, knocked: 0 }; s.n++; s.doors += b.doors; s.knocked += b.knocked; streets.set(b.street, s); }
    const turf = p.turfs.find((x) => x.id === state.selectedTurf);
    out.unshift(h('div', { class: 'streets', id: 'streets' }, h('h2', {}, `${t('streets_of')} ${turf?.name || ''}`),
      table([{ label: t('street'), value: (s) => s.street }, { label: t('addresses'), num: true, value: (s) => num(s.n) },
        { label: t('knocked'), value: (s) => bar(s.doors ? s.knocked / s.doors : 0) },
        { label: '', value: (s) => h('button', { type: 'button', class: 'secondary', 'data-street': s.street, onclick: () => moveStreet(state.selectedTurf, s.street) }, t('move')) }],
      [...streets.values()].sort((a, b) => a.street.localeCompare(b.street))),
      misplacedList(bs), addressList(bs)));
  }
  return out;
}

/** The turf's addresses whose position cannot be right, each with what is wrong (issue 22). */
function misplacedList(bs) {
  const bad = bs.filter((b) => b.misplaced);
  if (!bad.length) return null;
  return h('div', { class: 'warning', id: 'misplaced', role: 'note' }, h('strong', {}, t('misplaced_title', bad.length)),
    h('ul', {}, bad.map((b) => h('li', { 'data-misplaced': b.id }, `${b.house_number} ${b.street} — ${b.misplaced}`))));
}

/** The turf's addresses with a box each (keyboard and phone friendly), grouped by street. */
function addressList(bs) {
  const byStreet = new Map();
  for (const b of bs) { if (!byStreet.has(b.street)) byStreet.set(b.street, []); byStreet.get(b.street).push(b); }
  const key = (b) => [parseInt(b.house_number, 10) || 0, b.house_number];
  const groups = [...byStreet.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([street, list]) => {
    list.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1].localeCompare(key(b)[1]));
    const all = h('input', { type: 'checkbox', 'data-street-all': street, 'aria-label': t('select_street', street),
      onchange: (ev) => { for (const b of list) toggleSelected(b.id, ev.target.checked); } });
    all.checked = list.every((b) => state.selection.has(b.id));
    return h('fieldset', { class: 'addresses' }, h('legend', {}, all, ' ', street),
      list.map((b) => {
        const box = h('input', { type: 'checkbox', id: 'addr-' + b.id, 'data-building': b.id, onchange: (ev) => toggleSelected(b.id, ev.target.checked) });
        box.checked = state.selection.has(b.id);
        return h('label', { for: 'addr-' + b.id, class: 'check' }, box, ` ${b.house_number} `, h('span', { class: 'muted' }, b.doors > 1 ? `(${b.doors} ${t('doors').toLowerCase()}, ${t('status_' + b.status)})` : `(${t('status_' + b.status)})`));
      }));
  });
  // Stays open across refreshes (a live update re-draws the view).
  const d = h('details', { class: 'address-list', id: 'address-list', open: state.addressListOpen },
    h('summary', {}, `${t('addresses_of')} (${bs.length})`), h('p', { class: 'muted' }, t('select_help')), groups);
  d.addEventListener('toggle', () => { state.addressListOpen = d.open; });
  return d;
}

async function selectTurf(id) {
  state.selectedTurf = id;
  // A large campaign's map holds the viewport's addresses: the turf's are read for its view.
  if (largeMap()) await loadMapPart();
  drawBuildings();
  const pts = state.buildings.filter((b) => b.turf_id === id && !b.misplaced).map((b) => [b.lat, b.lon]);
  if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.2), { animate: false });
  renderView();
  $('streets')?.querySelector('button')?.focus();
}

/** A small modal form; `submit` returns a promise, the dialog closes when it resolves. */
function dialog(title, body, submit) {
  const d = $('dialog');
  $('dialog-title').textContent = title;
  $('dialog-body').replaceChildren(...body);
  $('dialog-error').textContent = '';
  const form = $('dialog-form');
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    $('dialog-ok').disabled = true;
    try { await submit(); d.close(); } catch (e) { $('dialog-error').textContent = e.message; } finally { $('dialog-ok').disabled = false; }
  };
  $('dialog-cancel').onclick = () => d.close();
  d.showModal();
}

function moveStreet(turfId, street) {
  const to = h('select', { id: 'move-to', required: true }, volunteerOptions());
  const turfs = h('select', { id: 'move-to-turf' }, h('option', { value: '' }, t('choose')),
    state.progress.turfs.filter((x) => x.id !== turfId).map((x) => h('option', { value: x.id }, x.name)));
  to.required = false;
  dialog(`${t('move_street')} « ${street} »`, [h('label', { for: 'move-to' }, t('move_to')), to, h('label', { for: 'move-to-turf' }, t('move_to_turf')), turfs], async () => {
    const body = { turf_id: turfId, street };
    if (to.value) body.to_volunteer = to.value; else if (turfs.value) body.to_turf = turfs.value; else throw new Error(t('choose'));
    const r = await api('POST', '/api/v1/reassign', body);
    const dest = state.progress.turfs.find((x) => x.id === r.to_turf)?.name || r.to_turf;
    toast(t('moved', r.buildings_moved, dest));
    await refresh();
  });
}

/** Moves one address (all its doors: an address is one stop of a walk). */
function moveDoors(b) {
  const to = h('select', { id: 'move-to', required: true }, volunteerOptions());
  dialog(`${t('move_address')} ${b.house_number} ${b.street}`, [h('label', { for: 'move-to' }, t('move_to')), to], async () => {
    const r = await api('POST', '/api/v1/reassign', { door_ids: b.door_ids, to_volunteer: to.value });
    const dest = state.progress.turfs.find((x) => x.id === r.to_turf)?.name || r.to_turf;
    toast(t('moved', r.buildings_moved, dest));
    await refresh();
  });
}

/** Moves the selected addresses (all their doors) to a volunteer or a turf, in one request. */
function moveSelection() {
  const bs = selectedBuildings();
  if (!bs.length) return;
  const to = h('select', { id: 'move-to' }, volunteerOptions());
  const turfs = h('select', { id: 'move-to-turf' }, h('option', { value: '' }, t('choose')), state.progress.turfs.map((x) => h('option', { value: x.id }, x.name)));
  dialog(`${t('move_selection')} (${bs.length})`, [h('p', {}, t('selected', bs.length, bs.reduce((a, b) => a + b.doors, 0))),
    h('label', { for: 'move-to' }, t('move_to')), to, h('label', { for: 'move-to-turf' }, t('move_to_turf')), turfs], async () => {
    const body = { door_ids: bs.flatMap((b) => b.door_ids) };
    if (to.value) body.to_volunteer = to.value; else if (turfs.value) body.to_turf = turfs.value; else throw new Error(t('choose'));
    const r = await api('POST', '/api/v1/reassign', body);
    const dest = state.progress.turfs.find((x) => x.id === r.to_turf)?.name || r.to_turf;
    toast(t('moved', r.buildings_moved, dest));
    state.selection.clear();
    await refresh();
  });
}

function assignTurf(turf) {
  const to = h('select', { id: 'assign-to', required: true }, volunteerOptions(turf.volunteer_id));
  const days = h('input', { id: 'assign-days', type: 'number', min: 1, max: 120, value: 14 });
  dialog(`${t('assign_turf')} ${turf.name}`, [h('label', { for: 'assign-to' }, t('holder')), to, h('label', { for: 'assign-days' }, t('lease_days')), days], async () => {
    await api('POST', `/api/v1/turfs/${encodeURIComponent(turf.id)}/assign`, { volunteer_id: to.value, lease_days: Number(days.value) });
    toast(t('assigned'));
    await refresh();
  });
}

/**
 * The grid for a turf's paper sheet: one row per door ticked, by the code printed beside it, with
 * the result numbered as on the sheet's legend. Rows the server could not read stay, with why.
 */
function typePaper(turf) {
  const codes = state.campaign?.result_codes || [];
  const grid = h('tbody', {});
  const addRows = (n) => {
    for (let i = 0; i < n; i++) {
      const line = grid.children.length + 1;
      grid.append(h('tr', { 'data-line': line },
        h('td', {}, h('input', { class: 'paper-code', 'aria-label': `${t('paper_code')} ${line}`, maxlength: 9, size: 8, autocomplete: 'off', spellcheck: 'false' })),
        h('td', {}, h('select', { class: 'paper-result', 'aria-label': `${t('paper_result')} ${line}` },
          codes.map((c, i) => h('option', { value: String(i + 1) }, `${i + 1} ${codeLabel(c.code)}`)))),
        h('td', {}, h('input', { class: 'paper-note', 'aria-label': `${t('paper_note')} ${line}`, maxlength: 200 })),
        h('td', { class: 'paper-status muted' }, '')));
    }
  };
  addRows(8);
  const walked = h('input', { id: 'paper-walked', type: 'date', value: new Date().toISOString().slice(0, 10) });
  const more = h('button', { type: 'button', class: 'secondary', onclick: () => addRows(8) }, t('paper_more'));
  dialog(`${t('paper_title')} — ${turf.name}`, [h('label', { for: 'paper-walked' }, t('paper_walked')), walked,
    h('table', { class: 'paper-grid' }, h('thead', {}, h('tr', {}, h('th', {}, t('paper_code')), h('th', {}, t('paper_result')), h('th', {}, t('paper_note')), h('th', {}, ''))), grid),
    more], async () => {
    const lines = [...grid.children].filter((tr) => tr.querySelector('.paper-code').value.trim() && !tr.dataset.done);
    if (!lines.length) throw new Error(t('paper_code'));
    const rows = lines.map((tr) => ({ code: tr.querySelector('.paper-code').value, result: tr.querySelector('.paper-result').value,
      note: tr.querySelector('.paper-note').value || null }));
    const walkedMs = walked.value ? Date.parse(`${walked.value}T12:00:00`) : undefined;
    const answer = await api('POST', `/api/v1/turfs/${encodeURIComponent(turf.id)}/paper`, { rows, walked_ms: walkedMs });
    let accepted = 0; let duplicate = 0; const refused = [];
    answer.forEach((r, i) => {
      const tr = lines[i];
      tr.querySelector('.paper-status').textContent = r.status === 'rejected' ? r.message : r.status === 'accepted' ? '✓' : t('paper_before');
      if (r.status === 'accepted') accepted++;
      if (r.status === 'duplicate') duplicate++;
      if (r.status === 'rejected') refused.push(t('paper_refused', tr.dataset.line, r.message)); else tr.dataset.done = '1';
    });
    toast(t('paper_done', accepted, duplicate));
    await refresh();
    if (refused.length) throw new Error(refused.join(' · '));
  });
}

async function returnTurf(turf) {
  try { await api('POST', `/api/v1/turfs/${encodeURIComponent(turf.id)}/return`); toast(t('returned')); await refresh(); } catch (e) { fail(e); }
}

// People -------------------------------------------------------------------------------------------

function peopleView() {
  const p = state.progress;
  const team = (id) => p.teams.find((x) => x.id === id)?.name || id || t('none');
  const devices = (r) => h('div', {}, r.devices.map((d) => h('div', { class: 'row-actions' },
    h('span', {}, `${d.device_id} · ${when(d.last_seen_ms)}`),
    d.revoked_ms ? h('span', { class: 'muted' }, t('revoked')) : h('button', { type: 'button', class: 'danger', onclick: () => revoke(d.device_id) }, t('revoke')))));
  const name = h('input', { id: 'invite-name', required: true, autocomplete: 'off' });
  const teamSel = h('select', { id: 'invite-team' }, p.teams.map((x) => h('option', { value: x.id }, x.name)));
  const result = h('div', { id: 'invite-result' });
  const form = h('form', { onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('POST', '/api/v1/invitations', { name: name.value, team_id: teamSel.value || undefined });
      const qr = h('div', { class: 'qr' });
      if (r.qr_svg) { const doc = new DOMParser().parseFromString(r.qr_svg, 'image/svg+xml'); qr.append(document.importNode(doc.documentElement, true)); }
      result.replaceChildren(h('p', {}, t('join_code'), ' : ', h('span', { class: 'code', id: 'join-code' }, r.join_code)), qr, h('p', { class: 'muted' }, t('join_help')));
      name.value = '';
      await refresh();
    } catch (e) { fail(e); }
  } }, h('label', { for: 'invite-name' }, t('name')), name,
    p.teams.length ? [h('label', { for: 'invite-team' }, t('team')), teamSel] : null,
    h('p', {}, h('button', { type: 'submit' }, t('invite_go'))));
  return [h('h2', {}, t('volunteers')), teamPicker('people'), table([
    { label: t('name'), value: (r) => h('button', { type: 'button', class: 'link', 'data-page': r.id, 'aria-label': t('open_page', r.name), onclick: () => volunteerPage(r.id) }, r.name) },
    { label: t('team'), value: (r) => team(r.team_id) },
    { label: t('knocks'), num: true, value: (r) => num(r.stats.knocks) }, { label: t('last_sync'), value: (r) => when(r.stats.last_sync_ms) },
    { label: t('devices'), value: devices }], p.volunteers), h('h2', {}, t('invite')), form, result];
}

// A volunteer's page (issue 18): what the server lets this staff member see of it, each field by
// the volunteer's own choice; a coordinator exports the volunteer's data on their written request.
async function volunteerPage(id) {
  let p;
  try { p = await api('GET', `/api/v1/people/${encodeURIComponent(id)}`); } catch (e) { fail(e); return; }
  const rows = [];
  const add = (label, value) => { if (value !== null && value !== undefined) rows.push(h('dt', {}, label), h('dd', {}, value)); };
  add(t('page_teams'), p.teams && (p.teams.length ? p.teams.join(', ') : t('none')));
  add(t('page_sessions'), p.sessions_attended === undefined || p.sessions_attended === null ? null : num(p.sessions_attended));
  add(t('page_doors'), p.doors === undefined || p.doors === null ? null : num(p.doors));
  add(t('page_turfs'), p.turfs && p.turfs.length ? p.turfs.join(', ') : null);
  add(t('page_conversations'), p.conversations === undefined || p.conversations === null ? null : num(p.conversations));
  const body = [
    h('div', { class: 'page-head' },
      p.has_photo ? h('img', { class: 'page-photo', alt: p.shown_name, src: `/api/v1/people/${encodeURIComponent(id)}/photo` }) : null,
      h('div', {}, h('p', { class: 'page-name', id: 'page-name' }, p.shown_name),
        p.pseudonym && p.name ? h('p', { class: 'muted' }, p.pseudonym) : null,
        h('p', { class: 'muted' }, t('page_role')[p.role] || p.role))),
    p.bio ? h('p', { class: 'page-bio' }, p.bio) : null,
    rows.length ? h('dl', { class: 'page-facts' }, rows) : null,
    p.activity && p.activity.length ? [h('h3', {}, t('page_activity')), h('ul', { id: 'page-activity' }, p.activity.map((l) => h('li', {}, l)))] : null,
    h('p', { class: 'muted' }, t('page_hidden')),
  ];
  if (state.session.me.role === 'coordinator') {
    body.push(h('p', {}, h('button', { type: 'button', class: 'secondary', id: 'page-export', onclick: async () => {
      try {
        const doc = await api('GET', `/api/v1/people/${encodeURIComponent(id)}/export`);
        const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' })), download: `donnees-${id}.json` });
        a.click();
        toast(t('page_exported'));
      } catch (e) { fail(e); }
    } }, t('page_export'))));
  }
  dialog(p.shown_name, body.flat().filter((x) => x !== null && x !== undefined), async () => {});
  $('dialog-ok').textContent = t('page_close');
  $('dialog-cancel').hidden = true;
  $('dialog').addEventListener('close', () => { $('dialog-ok').textContent = t('confirm'); $('dialog-cancel').hidden = false; }, { once: true });
}

// Sessions -----------------------------------------------------------------------------------------

// The day a session falls on, as a heading of the calendar: "samedi 12 décembre".
const day = (ms) => new Date(ms).toLocaleDateString(state.lang === 'en' ? 'en-GB' : 'fr-FR', { weekday: 'long', day: 'numeric', month: 'long' });
const hour = (ms) => new Date(ms).toLocaleTimeString(state.lang === 'en' ? 'en-GB' : 'fr-FR', { hour: '2-digit', minute: '2-digit' });

async function sessionsView(el) {
  let list;
  try { list = await api('GET', '/api/v1/sessions'); } catch (e) { fail(e); return; }
  state.sessions = list;
  drawMeetingPoints(state.view === 'sessions' ? list : []);
  if (!list.length) { el.replaceChildren(h('h2', {}, t('sessions')), h('p', { class: 'muted', id: 'no-sessions' }, t('no_sessions'))); return; }
  // The server's clock says where a session stands (the browser's may be wrong).
  const phase = (s) => t({ called_off: 'called_off', upcoming: 'upcoming', ongoing: 'ongoing', over: 'over' }[s.phase] || 'upcoming');
  // One card per session, grouped by day (a calendar), soonest first: what it is, then its figures.
  const figure = (key, value, label) => h('div', { class: 'stat' }, h('b', { 'data-figure': key }, value), h('span', {}, label));
  const card = (r) => h('article', { class: 'session', 'data-session': r.session.id },
    h('h4', {}, r.session.title, ' ', h('span', { class: 'muted' }, `(${phase(r)})`)),
    h('p', { class: 'muted' }, `${hour(r.session.start_ms)}–${hour(r.session.end_ms)} · ${t('meeting')} : ${r.session.meeting_text} · `,
      h('a', { href: `/api/v1/sessions/${encodeURIComponent(r.session.id)}/calendar.ics`, download: '' }, t('calendar_file')),
      r.session.visibility === 'public' && !r.session.cancelled ? [' · ', h('a', { href: `/p/${encodeURIComponent(r.session.id)}`, target: '_blank', rel: 'noopener', 'data-public-page': '' }, t('public_page'))] : null),
    h('div', { class: 'stats' },
      figure('signed_up', num(r.signed_up + r.confirmed + r.checked_in + (r.public || 0)),
        r.public ? [t('signed_up'), h('small', { 'data-figure': 'public' }, ` (${t('without_account', r.public)})`)] : t('signed_up')),
      figure('checked_in', num(r.checked_in), t('checked_in')),
      figure('attended', num(r.attended), t('attended')),
      figure('doors', num(r.doors), t('session_doors')),
      figure('contacts', num(r.contacts), t('session_contacts')),
      figure('no_shows', r.no_show_rate === null || r.no_show_rate === undefined ? '—' : `${pct(r.no_show_rate)} (${num(r.no_shows)})`, t('no_show_rate'))),
    sessionActions(r));
  const days = [];
  for (const r of list) {
    const d = day(r.session.start_ms);
    if (!days.length || days[days.length - 1][0] !== d) days.push([d, []]);
    days[days.length - 1][1].push(r);
  }
  el.replaceChildren(h('h2', {}, t('sessions')),
    ...days.flatMap(([d, rows]) => [h('h3', { class: 'day' }, d), ...rows.map(card)]),
    h('p', { class: 'muted' }, t('attended_help')));
}

// What a coordinator (or one of the session's captains) may change on a session not over: its
// places, or calling it off. The server decides (never fewer places than taken; called off is
// final) and its refusal is shown as it says it.
function sessionActions(r) {
  const me = state.session.me;
  const s = r.session;
  if (r.phase === 'called_off' || r.phase === 'over') return null;
  if (me.role !== 'coordinator' && !(me.role === 'captain' && s.captains.includes(me.user_id))) return null;
  const places = h('input', { type: 'number', min: '1', max: '500', value: String(s.capacity), 'data-places': '', 'aria-label': t('places') });
  const save = async (changed, done) => {
    try {
      await api('PUT', `/api/v1/sessions/${encodeURIComponent(s.id)}`, { ...s, ...changed });
      toast(t(done));
      renderView();
    } catch (e) { fail(e); }
  };
  return h('form', { class: 'session-actions', onsubmit: (e) => { e.preventDefault(); save({ capacity: Number(places.value) }, 'session_saved'); } },
    h('label', {}, `${t('places')} `, places), ' ', h('button', { type: 'submit', 'data-save-places': '' }, t('save_places')), ' ',
    h('button', { type: 'button', class: 'danger', 'data-call-off': '',
      onclick: () => { if (window.confirm(t('call_off_confirm', s.title))) save({ cancelled: true }, 'session_called_off'); } }, t('call_off')));
}

// SMS (issue 19) ------------------------------------------------------------------------------------

// Compose a text to a team or a session, see the compliance gate's verdict on every recipient
// before anything goes (the server's own preview: numbers masked, every reason said), then send
// under one idempotency key (a double click or a retry queues nothing twice). Coordinators also see
// the replies (with their state), the STOP list, each text's delivery state and the expenses.
const smsDraft = { key: null };
async function smsView(el) {
  const me = state.session.me;
  const coordinator = me.role === 'coordinator';
  let settings, sessions;
  try {
    [settings, sessions] = await Promise.all([api('GET', '/api/v1/sms/settings'), api('GET', '/api/v1/sessions')]);
  } catch (e) { fail(e); return; }
  const parts = [h('h2', {}, t('sms_title'))];
  if (!settings) parts.push(h('p', { class: 'notice', id: 'sms-not-set-up' }, t('sms_not_set_up')));
  const audiences = [
    ...state.progress.teams.map((x) => [JSON.stringify({ kind: 'team', team_id: x.id }), t('sms_team', x.name)]),
    ...sessions.filter((r) => r.phase !== 'over' && r.phase !== 'called_off')
      .map((r) => [JSON.stringify({ kind: 'session', session_id: r.session.id }), t('sms_session', r.session.title)]),
  ];
  const audience = h('select', { id: 'sms-audience' }, audiences.map(([v, l]) => h('option', { value: v }, l)));
  const purpose = h('select', { id: 'sms-purpose' }, ['session_reminder', 'team_news'].map((p) => h('option', { value: p }, t('sms_purposes')[p])));
  const body = h('textarea', { id: 'sms-body', rows: '3', maxlength: '700' });
  body.value = settings ? `${settings.sender_name} : ` : '';
  const verdict = h('div', { id: 'sms-verdict', 'aria-live': 'polite' });
  const request = () => ({ audience: JSON.parse(audience.value), purpose: purpose.value, body: body.value });
  const fresh = () => { smsDraft.key = null; verdict.replaceChildren(); };
  for (const x of [audience, purpose, body]) x.addEventListener('input', fresh);
  const check = async () => {
    try {
      const p = await api('POST', '/api/v1/sms/preview', request());
      verdict.replaceChildren(
        h('p', { id: 'sms-summary' }, `${t('sms_verdicts', p.allowed, p.refused)} · ${t('sms_segments', p.encoding, p.segments)}`),
        table([
          { label: t('name'), value: (r) => r.name },
          { label: t('sms_number'), value: (r) => r.number || t('sms_no_number') },
          { label: t('sms_status'), value: (r) => (r.allowed ? h('span', { class: 'ok' }, t('sms_allowed'))
            : h('span', { class: 'bad', 'data-refused': '' }, r.number ? r.reasons.map(serverText).join(' ; ') : t('sms_gave_no_number'))) },
        ], p.recipients));
      return p;
    } catch (e) { fail(e); return null; }
  };
  const send = async () => {
    smsDraft.key = smsDraft.key || (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()));
    try {
      const r = await api('POST', '/api/v1/sms/send', { ...request(), idempotency_key: smsDraft.key });
      toast(t('sms_queued', r.queued, r.refused));
      if (coordinator) renderView();
    } catch (e) { fail(e); }
  };
  parts.push(h('form', { class: 'sms-compose', onsubmit: (ev) => { ev.preventDefault(); check(); } },
    h('label', { for: 'sms-audience' }, t('sms_audience')), audience,
    h('label', { for: 'sms-purpose' }, t('sms_purpose')), purpose,
    h('label', { for: 'sms-body' }, t('sms_body')), body,
    h('p', { class: 'muted' }, t('sms_hint')),
    h('p', {}, h('button', { type: 'submit', id: 'sms-check' }, t('sms_check')), ' ',
      h('button', { type: 'button', id: 'sms-send', onclick: send }, t('sms_send')))), verdict);
  if (coordinator) {
    let inbox, optouts, outbox, expenses, provider;
    try {
      [inbox, optouts, outbox, expenses, provider] = await Promise.all(['inbox', 'optouts', 'outbox', 'expenses', 'provider']
        .map((x) => api('GET', `/api/v1/sms/${x}`)));
    } catch (e) { fail(e); return; }
    parts.push(h('p', { class: 'muted', id: 'sms-provider' }, provider ? t('sms_provider_set', provider.kind, provider.sender) : t('sms_no_provider')));
    const stateSel = (m) => (m.state === 'opted_out' ? t('sms_state').opted_out : h('select', {
      'data-reply': m.id, 'aria-label': t('sms_status'),
      onchange: async (ev) => { try { await api('PUT', `/api/v1/sms/inbox/${encodeURIComponent(m.id)}`, { state: ev.target.value }); } catch (e) { fail(e); } },
    }, ['unread', 'needs_reply', 'handled'].map((s) => h('option', { value: s, selected: s === m.state ? '' : undefined }, t('sms_state')[s]))));
    parts.push(h('h3', {}, t('sms_inbox')), inbox.length ? table([
      { label: t('sms_received'), value: (m) => when(m.received_ms) },
      { label: t('sms_number'), value: (m) => m.number },
      { label: t('sms_body'), value: (m) => m.body },
      { label: t('sms_status'), value: stateSel }], inbox) : h('p', { class: 'muted' }, t('sms_no_replies')));
    parts.push(h('h3', {}, t('sms_outbox')), outbox.length ? table([
      { label: t('sms_number'), value: (r) => r.number },
      { label: t('sms_purpose'), value: (r) => t('sms_purposes')[r.purpose] || r.purpose },
      { label: t('sms_status'), value: (r) => h('span', { 'data-state': r.state }, r.meaning) },
      { label: t('sms_source'), value: (r) => r.error ? serverText(r.error) : (r.provider || t('none')) }], outbox) : h('p', { class: 'muted' }, t('none')));
    parts.push(h('h3', {}, t('sms_optouts')), optouts.length ? table([
      { label: t('sms_number'), value: (o) => o.number }, { label: t('sms_source'), value: (o) => o.source }, { label: t('sms_received'), value: (o) => when(o.at_ms) }], optouts)
      : h('p', { class: 'muted' }, t('sms_no_optouts')));
    const euros = (mc) => new Intl.NumberFormat(state.lang === 'en' ? 'en-GB' : 'fr-FR', { style: 'currency', currency: 'EUR', maximumFractionDigits: 4 }).format(mc / 100000);
    parts.push(h('h3', {}, t('sms_expenses')), expenses.length ? table([
      { label: t('sms_day'), value: (l) => l.day }, { label: t('sms_provider'), value: (l) => l.provider },
      { label: t('sms_texts'), num: true, value: (l) => num(l.texts) }, { label: t('sms_segments_col'), num: true, value: (l) => num(l.segments) },
      { label: t('sms_uncertain'), num: true, value: (l) => num(l.uncertain) }, { label: t('sms_cost'), num: true, value: (l) => euros(l.cost_millicents) }], expenses) : h('p', { class: 'muted' }, t('none')),
    h('p', {}, h('a', { href: '/api/v1/sms/expenses?format=csv', download: 'depenses-sms.csv', id: 'sms-expenses-csv' }, t('sms_expenses_csv'))));
  }
  el.replaceChildren(...parts);
}

// Messages -----------------------------------------------------------------------------------------

// The staff member's channels and what is new in them since the last load (the same feed as a
// phone's: `POST /api/v1/messages/feed` with the last place held per channel).
async function loadMessages() {
  const m = state.msg;
  const feed = await api('POST', '/api/v1/messages/feed', { protocol: 1, since: m.since });
  m.channels = feed.channels;
  for (const x of feed.messages) {
    const list = (m.messages[x.channel_id] = m.messages[x.channel_id] || []);
    if (!list.some((y) => y.id === x.id)) list.push(x);
    m.since[x.channel_id] = Math.max(m.since[x.channel_id] || 0, x.seq);
  }
  for (const list of Object.values(m.messages)) list.sort((a, b) => a.seq - b.seq);
  const unread = m.channels.reduce((n, c) => n + unreadIn(c), 0);
  $('message-badge').hidden = !unread;
  $('message-badge').textContent = unread;
  if (feed.more) return loadMessages();
}

// Messages after the reader's marker, their own excepted.
const unreadIn = (c) => (state.msg.messages[c.id] || []).filter((x) => x.seq > c.read_seq && x.author_id !== state.session.me.user_id).length;

async function messageAction(channelId, action) {
  await api('POST', '/api/v1/messages', { channel_id: channelId, action });
  await loadMessages();
}

async function messagesView(el) {
  const m = state.msg;
  try { await loadMessages(); } catch (e) { fail(e); return; }
  if (!m.channels.length) { el.replaceChildren(h('h2', {}, t('tab_messages')), h('p', { class: 'muted' }, t('no_channels'))); return; }
  if (!m.open || !m.channels.some((c) => c.id === m.open)) m.open = m.channels[0].id;
  const open = m.channels.find((c) => c.id === m.open);
  const list = m.messages[open.id] || [];
  // Opening a channel reads it up to its last message (the marker only rises).
  if (list.length && open.read_seq < list[list.length - 1].seq) {
    await messageAction(open.id, { kind: 'read', up_to: list[list.length - 1].seq }).catch(fail);
    open.read_seq = list[list.length - 1].seq;
  }
  const readBy = Object.fromEntries((open.read_by || []).map((r) => [r.seq, r.readers]));
  const me = state.session.me.user_id;
  const tabs = h('ul', { class: 'channels', role: 'list' }, m.channels.map((c) => {
    const n = unreadIn(c);
    return h('li', {}, h('button', { type: 'button', class: c.id === open.id ? 'channel open' : 'channel', 'data-channel': c.id,
      'aria-current': c.id === open.id ? 'true' : null, onclick: () => { m.open = c.id; messagesView(el); } },
    // Teams and the announcements say what they are in their title; sessions and people do not.
    c.channel.kind === 'session' || c.channel.kind === 'direct' ? [h('small', { class: 'muted' }, t('kind_' + c.channel.kind)), ' '] : null,
    c.title, n ? [' ', h('span', { class: 'badge' }, n)] : null));
  }));
  const ref = (x) => x.reference ? h('small', { class: 'muted' }, ` · ${x.reference.kind === 'door' ? t('message_to_door') : t('message_to_street')} ${x.reference.street || x.reference.door_id}`) : null;
  const bubble = (x) => h('li', { class: x.author_id === me ? 'message mine' : 'message', 'data-seq': x.seq },
    h('div', { class: 'meta' }, h('b', {}, x.author_id === me ? t('you') : x.author_name), ' ', h('small', { class: 'muted' }, when(x.received_ms)), ref(x),
      x.author_id === me && readBy[x.seq] ? h('small', { class: 'muted', 'data-read-by': '' }, ` · ${t('read_by', readBy[x.seq])}`) : null,
      open.can_pin ? h('button', { type: 'button', class: 'link', 'data-pin': x.id,
        onclick: () => messageAction(open.id, open.pinned?.id === x.id ? { kind: 'unpin' } : { kind: 'pin', message_id: x.id }).then(() => messagesView(el)).catch(fail) },
      open.pinned?.id === x.id ? t('unpin') : t('pin')) : null),
    h('p', { class: 'body' }, x.body));
  const text = h('textarea', { rows: '2', maxlength: '2000', 'data-compose': '', placeholder: t('write_to', open.title), 'aria-label': t('write_to', open.title) });
  const composer = open.can_post ? h('form', { class: 'composer', onsubmit: (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) return;
    messageAction(open.id, { kind: 'post', body: text.value }).then(() => { text.value = ''; messagesView(el); }).catch(fail);
  } }, text, h('button', { type: 'submit', 'data-send': '' }, t('send'))) : null;
  el.replaceChildren(...[h('h2', {}, t('tab_messages')), tabs,
    open.pinned ? h('aside', { class: 'pinned', 'data-pinned': '' }, h('b', {}, `${t('pinned')} · `), open.pinned.body) : null,
    list.length ? h('ol', { class: 'thread', 'data-thread': open.id }, list.map(bubble)) : h('p', { class: 'muted' }, t('no_messages')),
    composer].filter(Boolean));
}

// The meeting points on the map while the sessions tab is open.
let meetingLayer = null;
function drawMeetingPoints(list) {
  if (!map) return;
  if (!meetingLayer) meetingLayer = L.layerGroup().addTo(map);
  meetingLayer.clearLayers();
  state.counts.meetings = (list || []).length;
  for (const r of list || []) {
    const s = r.session;
    // Purple, larger, ringed: a meeting point, never to be taken for a door's status.
    L.circleMarker([s.meeting_lat, s.meeting_lon], { renderer, radius: 11, color: '#202124', weight: 3, fillColor: s.cancelled ? '#9aa0a6' : '#8e24aa', fillOpacity: 0.95 })
      .bindTooltip(`${t('meeting')} · ${s.title} · ${hour(s.start_ms)} · ${s.meeting_text}`).addTo(meetingLayer);
  }
}

async function revoke(deviceId) {
  dialog(t('revoke'), [h('p', {}, t('revoke_confirm', deviceId))], async () => {
    await api('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/revoke`);
    toast(t('revoked_ok'));
    await refresh();
  });
}

// Overlaps -----------------------------------------------------------------------------------------

async function overlapsView(el) {
  let views, held;
  try { [views, held] = await Promise.all([api('GET', '/api/v1/overlaps'), api('GET', '/api/v1/held')]); } catch (e) { fail(e); return; }
  const rows = Array.isArray(views) ? views : [];
  const waiting = (Array.isArray(held) ? held : []).sort((a, b) => (a.review ? 1 : 0) - (b.review ? 1 : 0));
  const address = (id) => { const b = state.buildings.find((x) => x.id === id); return b ? `${b.house_number} ${b.street}` : id; };
  const by = (v) => state.progress.volunteers.find((x) => x.id === v)?.name || v;
  const review = (r, accept) => h('button', { type: 'button', class: accept ? '' : 'secondary', 'data-held': r.report.id, 'data-accept': String(accept), onclick: async () => {
    try {
      await api('POST', `/api/v1/held/${encodeURIComponent(r.report.id)}/review`, { accept });
      toast(t(accept ? 'held_ok' : 'held_dropped'));
      await refresh();
      overlapsView(el);
    } catch (e) { fail(e); }
  } }, t(accept ? 'accept' : 'discard'));
  const heldPart = waiting.length ? [h('h2', { id: 'held-title' }, t('held_title')), h('p', { class: 'muted' }, t('held_help')), table([
    { label: t('received'), value: (r) => when(r.received_ms) }, { label: t('address'), value: (r) => address(r.building_id) },
    { label: t('by'), value: (r) => by(r.report.volunteer_id) }, { label: t('result'), value: (r) => codeLabel(r.report.result_code) },
    { label: '', value: (r) => (r.review ? h('span', { class: 'muted' }, t(r.review === 'accepted' ? 'held_accepted' : 'held_discarded')) : h('span', {}, review(r, true), ' ', review(r, false))) }], waiting)] : [];
  const overlapPart = rows.length ? [h('h2', {}, t('overlaps')), h('p', { class: 'muted' }, t('overlap_help')), table([
    { label: t('when'), value: (r) => when(r.knocked_ms) }, { label: t('address'), value: (r) => `${r.house_number} ${r.street}` },
    { label: t('by'), value: (r) => by(r.volunteer_id) },
    { label: t('result'), value: (r) => codeLabel(r.result_code) },
    { label: '', value: (r) => (r.reviewed ? h('span', { class: 'muted' }, t('reviewed')) : h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await api('POST', `/api/v1/overlaps/${encodeURIComponent(r.report_id)}/review`); await refresh(); } catch (e) { fail(e); }
    } }, t('mark_reviewed'))) }], rows)] : [h('p', {}, t('overlaps_none'))];
  el.replaceChildren(...heldPart, ...overlapPart);
}

// ----- boot ----------------------------------------------------------------------------------------

applyLanguage();
api('GET', '/api/v1/session').then((s) => { state.session = s; return start(); }).catch(() => showLogin(''));
