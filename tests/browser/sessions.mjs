// A coordinator follows a canvass session's attendance in Debian's headless Chromium. Run by
// tests/tests/dashboard.rs, which plays the session with real phones: two volunteers sign up, the
// captain's phone hands a street to one of them with no network, she knocks SESSION_DOORS doors,
// the other never comes, and the session ends. Any failed check prints `FAIL <what>` and exits 1;
// the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

const { SESSION_TITLE, SESSION_DOORS } = process.env;
await signedIn(async (page) => {
  await page.click('#tab-sessions');
  await page.waitForSelector('#view-sessions article.session');
  const text = await page.textContent('#view-sessions');
  check(!/undefined|null|NaN/.test(text), `no undefined, null or NaN in the sessions tab: ${JSON.stringify(text.slice(0, 400))}`);
  check(text.includes(SESSION_TITLE) && text.includes('(terminée)'), 'the session is listed, and said to be over');
  check(/(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d+ \S+/.test(text), 'the calendar heads the day in French');
  const card = page.locator('#view-sessions article.session', { hasText: SESSION_TITLE });
  const fig = async (k) => (await card.locator(`[data-figure="${k}"]`).textContent()).trim();
  const [signed, checkedIn, attended, doors, noShows] = await Promise.all(['signed_up', 'checked_in', 'attended', 'doors', 'no_shows'].map(fig));
  check(signed === '2' && checkedIn === '1' && attended === '1', `2 signed up, 1 checked in, 1 attended: ${[signed, checkedIn, attended]}`);
  check(doors === SESSION_DOORS, `${SESSION_DOORS} doors knocked under the session's leases: ${doors}`);
  check(/^50\s?%\s\(1\)$/.test(noShows), `half the volunteers signed up did not come: ${noShows}`);
  const box = await card.boundingBox();
  const panel = await page.locator('#panel').boundingBox();
  check(box.x + box.width <= panel.x + panel.width + 1, `every figure fits the panel (${Math.round(box.x + box.width)} ≤ ${Math.round(panel.x + panel.width)})`);
  check(/Présent : a frappé au moins une porte/.test(text), 'what "attended" means is said on the page');
  const ics = await page.evaluate(async (href) => (await fetch(href)).text(), await card.locator('a[download]').getAttribute('href'));
  check(ics.startsWith('BEGIN:VCALENDAR') && ics.includes('TRIGGER:-PT2H'), 'the card links the session\'s calendar file, alarms included');
  const markers = await page.evaluate(() => window.doorstepState.counts.meetings);
  check(markers === 1, `the meeting point is on the map (${markers} marker)`);
  await shot(page, '8-sessions.png');
});
