// The dashboard in Debian's headless Chromium, driven by playwright-core (never a downloaded
// browser). Run by tests/tests/dashboard.rs, which serves the demo campaign and plays the phone:
//   this script prints `MOVED <street>` once it has moved a street in the page, then waits for
//   `SYNCED <building id>` on stdin (the phone knocked there and synced), checks that the open map
//   updated live, and prints `DONE`. Any failed check prints `FAIL <what>` and exits 1.
import { chromium } from 'playwright-core';
import readline from 'node:readline';
import path from 'node:path';

const { BASE_URL, LOGIN, PASSWORD, SOURCE_TURF, TARGET_VOLUNTEER, SHOTS } = process.env;
const fail = (what) => { console.log(`FAIL ${what}`); process.exit(1); };
const check = (ok, what) => { if (!ok) fail(what); console.log(`ok ${what}`); };
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name), fullPage: false });
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'fr-FR' });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The page asks for its session before signing in (401) and after a wrong password: expected.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });

  await page.goto(BASE_URL);
  check(await page.locator('#login-view').isVisible(), 'the sign-in form shows first');
  check((await page.textContent('#login-submit')).trim() === 'Se connecter', 'French first');

  // A wrong password: a clear message, still signed out.
  await page.fill('#login-name', LOGIN);
  await page.fill('#login-password', 'pas le bon mot de passe');
  await page.click('#login-submit');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  check(/incorrect/.test(await page.textContent('#login-error')), 'a wrong password is refused with a message');

  // Signed in: the real streets and doors of the captain's turfs.
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForFunction(() => window.doorstepState?.counts.buildings > 100 && window.doorstepState.counts.streets > 500);
  const counts = await page.evaluate(() => window.doorstepState.counts);
  check(counts.buildings > 100 && counts.streets > 500, `map shows ${counts.buildings} buildings and ${counts.streets} street segments`);
  check(await page.locator('#map canvas').count() > 0, 'the map is drawn (canvas)');
  check(!(await page.evaluate(() => document.cookie)).includes('doorstep_session'), 'the session cookie is out of scripts\' reach');
  await page.waitForFunction(() => document.querySelector('#live').dataset.state === 'on');
  check(true, 'live updates connected');
  const knocksBefore = digits(await page.textContent('#stat-knocks'));
  await shot(page, '1-map.png');

  // Keyboard: arrows move between tabs.
  await page.focus('#tab-progress');
  await page.keyboard.press('ArrowRight');
  check(await page.getAttribute('#tab-results', 'aria-selected') === 'true', 'tabs follow the arrow keys');

  // Move a street of Bénévole 0's turf to the target volunteer, from the turf's street list.
  await page.click('#tab-turfs');
  await page.click(`[data-turf="${SOURCE_TURF}"]`);
  const move = page.locator('#streets [data-street]').first();
  const street = await move.getAttribute('data-street');
  const onStreet = await page.evaluate(([t, s]) => window.doorstepState.buildings.filter((b) => b.turf_id === t && b.street === s).map((b) => b.id), [SOURCE_TURF, street]);
  check(onStreet.length > 0, `street « ${street} » has ${onStreet.length} address(es) in the turf`);
  await move.click();
  check(await page.locator('#dialog').isVisible(), 'the move dialog opens');
  await page.selectOption('#move-to', TARGET_VOLUNTEER);
  await page.click('#dialog-ok');
  await page.waitForFunction(() => /déplacée/.test(document.querySelector('#toast').textContent));
  await page.waitForFunction(([ids, t]) => ids.every((id) => window.doorstepState.buildings.find((b) => b.id === id)?.turf_id !== t), [onStreet, SOURCE_TURF]);
  check(true, 'the map shows the street in its new turf');
  await shot(page, '2-street-moved.png');
  console.log(`MOVED ${street}`);

  // The phone syncs a knock on the moved street: the open page updates by itself.
  const synced = (await nextLine()).replace(/^SYNCED /, '');
  await page.click('#tab-progress');
  await page.waitForFunction((id) => window.doorstepState.buildings.find((b) => b.id === id)?.knocked > 0, synced);
  await page.waitForFunction((n) => Number(document.querySelector('#stat-knocks').textContent.replace(/[^0-9]/g, '')) === n + 1, knocksBefore);
  check(/a synchronisé/.test(await page.textContent('#toast')), 'a notice names who synced');
  check(true, 'the knock reached the open map and the progress without a reload');
  await shot(page, '3-live-update.png');

  // English on demand; phone width without sideways scrolling.
  await page.click('header .lang-toggle');
  check((await page.textContent('#tab-progress')).trim() === 'Progress', 'English interface');
  await page.click('header .lang-toggle');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `usable at phone width (overflow ${overflow}px)`);
  await shot(page, '4-phone-width.png');

  // The session ends (the test moves the server's clock past 12 hours): the next action says so.
  console.log('EXPIRE');
  await nextLine();
  await page.click('#tab-results');
  await page.waitForFunction(() => !document.querySelector('#login-view').hidden);
  check(/Session expirée/.test(await page.textContent('#login-error')), 'an expired session sends back to sign-in with a message');

  check(problems.length === 0, `no script error and no content-security-policy violation ${JSON.stringify(problems)}`);

  // A forged change without the CSRF token is refused, even from the page's own origin.
  const forged = await page.evaluate(async (t) => {
    const r = await fetch('/api/v1/reassign', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ turf_id: t, street: 'x', to_turf: t }) });
    return [r.status, (await r.json()).code];
  }, SOURCE_TURF);
  check(forged[0] === 403 && forged[1] === 'csrf', `a request without the CSRF token is refused (${forged})`);

  console.log('DONE');
} catch (e) {
  fail(e.stack || e.message);
} finally {
  await browser.close();
  lines.close();
}
