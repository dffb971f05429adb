// The dashboard in Debian's headless Chromium, driven by playwright-core (never a downloaded
// browser). Run by tests/tests/dashboard.rs, which serves the demo campaign and plays the phone:
//   this script prints `MOVED <street>` once it has moved a street in the page, then waits for
//   `SYNCED <building id>` on stdin (the phone knocked there and synced), checks that the open map
//   updated live, and prints `DONE`. Any failed check prints `FAIL <what>` and exits 1.
import readline from 'node:readline';
import { check, fail, frenchPage, launch, shot, signIn } from './lib.mjs';

const { BASE_URL, LOGIN, PASSWORD, SOURCE_TURF, TARGET_VOLUNTEER } = process.env;
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));

const browser = await launch();
try {
  const { page, problems } = await frenchPage(browser);

  await page.goto(BASE_URL);
  check(await page.locator('#login-view').isVisible(), 'the sign-in form shows first');
  check((await page.textContent('#login-submit')).trim() === 'Se connecter', 'French first');

  // A wrong password: a clear message, still signed out.
  await signIn(page, LOGIN, 'pas le bon mot de passe');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  check(/incorrect/.test(await page.textContent('#login-error')), 'a wrong password is refused with a message');

  // Signed in: the real streets and doors of the captain's turfs.
  await signIn(page, LOGIN, PASSWORD);
  await page.waitForFunction(() => window.doorstepState?.counts.buildings > 100 && window.doorstepState.counts.streets > 500);
  const counts = await page.evaluate(() => window.doorstepState.counts);
  check(counts.buildings > 100 && counts.streets > 500, `map shows ${counts.buildings} buildings and ${counts.streets} street segments`);
  check(await page.locator('#map canvas').count() > 0, 'the map is drawn (canvas)');
  check(!(await page.locator('#no-streets').isVisible()), 'a campaign with its streets shows no street warning');
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
  // Two refreshes follow a move: the page's own, and the live event's. Wait for both before the
  // next click (a refresh re-draws the view under the pointer).
  const updates = await page.evaluate(() => window.doorstepState.counts.updates);
  await move.click();
  check(await page.locator('#dialog').isVisible(), 'the move dialog opens');
  await page.selectOption('#move-to', TARGET_VOLUNTEER);
  await page.click('#dialog-ok');
  await page.waitForFunction(() => /déplacée/.test(document.querySelector('#toast').textContent));
  await page.waitForFunction(([ids, t]) => ids.every((id) => window.doorstepState.buildings.find((b) => b.id === id)?.turf_id !== t), [onStreet, SOURCE_TURF]);
  await page.waitForFunction((n) => window.doorstepState.counts.updates >= n + 2, updates);
  check(true, 'the map shows the street in its new turf');
  await shot(page, '2-street-moved.png');

  // Several addresses at once: a rectangle drawn on the map in selection mode, then one more ticked
  // in the turf's address list with the keyboard, moved together to the target volunteer.
  await page.click(`[data-turf="${SOURCE_TURF}"]`);
  await page.click('#select-mode');
  check(await page.getAttribute('#select-mode', 'aria-pressed') === 'true', 'selection mode is on');
  const box = await page.locator('#map').boundingBox();
  const plan = await page.evaluate((t) => {
    const map = window.doorstepMap;
    const size = map.getSize();
    const pt = (b) => map.latLngToContainerPoint([b.lat, b.lon]);
    const mine = window.doorstepState.buildings.filter((b) => b.turf_id === t).map((b) => ({ b, p: pt(b) }))
      .filter(({ p }) => p.x > 60 && p.y > 60 && p.x < size.x - 60 && p.y < size.y - 60);
    // The building with the most others of the turf within 30 px: the rectangle's centre.
    const near = (a) => mine.filter(({ p }) => Math.abs(p.x - a.p.x) <= 30 && Math.abs(p.y - a.p.y) <= 30);
    const centre = mine.reduce((best, x) => (near(x).length > near(best).length ? x : best), mine[0]);
    const r = { x0: centre.p.x - 30, y0: centre.p.y - 30, x1: centre.p.x + 30, y1: centre.p.y + 30 };
    const all = window.doorstepState.buildings.map((b) => ({ b, p: pt(b) }));
    const inside = all.filter(({ p }) => p.x >= r.x0 + 2 && p.x <= r.x1 - 2 && p.y >= r.y0 + 2 && p.y <= r.y1 - 2).map(({ b }) => b.id);
    const edge = all.filter(({ p }) => p.x >= r.x0 - 2 && p.x <= r.x1 + 2 && p.y >= r.y0 - 2 && p.y <= r.y1 + 2).map(({ b }) => b.id);
    return { r, inside, edge };
  }, SOURCE_TURF);
  check(plan.inside.length >= 2, `${plan.inside.length} addresses inside the rectangle to draw`);
  await page.mouse.move(box.x + plan.r.x0, box.y + plan.r.y0);
  await page.mouse.down();
  await page.mouse.move(box.x + plan.r.x1, box.y + plan.r.y1, { steps: 8 });
  await page.mouse.up();
  const picked = await page.evaluate(() => [...window.doorstepState.selection]);
  check(plan.inside.every((id) => picked.includes(id)) && picked.every((id) => plan.edge.includes(id)),
    `the rectangle selected the ${picked.length} addresses inside it`);
  await page.keyboard.press('Escape');
  check(await page.getAttribute('#select-mode', 'aria-pressed') === 'false', 'Escape leaves selection mode');
  await page.click('#address-list summary');
  const extra = page.locator('#address-list input[data-building]:not(:checked)').first();
  const extraId = await extra.getAttribute('data-building');
  await extra.focus();
  await page.keyboard.press('Space');
  const chosen = await page.evaluate(() => [...window.doorstepState.selection]);
  check(chosen.length === picked.length + 1 && chosen.includes(extraId), 'one more address ticked in the list with the keyboard');
  check(new RegExp(`^${chosen.length} adresse`).test(await page.textContent('#selection-count')), 'the selection bar counts them');
  await shot(page, '2b-selection.png');
  await page.click('#move-selection');
  await page.selectOption('#move-to', TARGET_VOLUNTEER);
  await page.click('#dialog-ok');
  await page.waitForFunction((n) => new RegExp(`^${n} adresse\\(s\\) déplacée`).test(document.querySelector('#toast').textContent), chosen.length);
  await page.waitForFunction(([ids, t]) => ids.every((id) => { const b = window.doorstepState.buildings.find((x) => x.id === id); return b && b.turf_id !== t; }), [chosen, SOURCE_TURF]);
  const dest = await page.evaluate((ids) => [...new Set(ids.map((id) => window.doorstepState.buildings.find((b) => b.id === id)?.turf_id))], chosen);
  check(dest.length === 1 && dest[0] !== SOURCE_TURF, `the ${chosen.length} selected addresses moved together to ${dest[0]}`);
  check(await page.evaluate(() => window.doorstepState.selection.size === 0 && document.querySelector('#selection-bar').hidden), 'the selection is cleared after the move');
  console.log(`SELECTED ${chosen.join(',')}`);
  console.log(`MOVED ${street}`);

  // The phone syncs a knock on the moved street: the open page updates by itself.
  const synced = (await nextLine()).replace(/^SYNCED /, '');
  await page.click('#tab-progress');
  await page.waitForFunction((id) => window.doorstepState.buildings.find((b) => b.id === id)?.knocked > 0, synced);
  await page.waitForFunction((n) => Number(document.querySelector('#stat-knocks').textContent.replace(/[^0-9]/g, '')) === n + 1, knocksBefore);
  check(/a synchronisé/.test(await page.textContent('#toast')), 'a notice names who synced');
  check(true, 'the knock reached the open map and the progress without a reload');

  // A steady stream of live events, faster than the refresh delay (2,000 phones syncing), still
  // refreshes the page: one pending refresh covers them all instead of being pushed back by each.
  const updatesBefore = await page.evaluate(() => window.doorstepState.counts.updates);
  await page.evaluate(() => new Promise((resolve) => {
    let n = 0;
    const t = setInterval(() => { scheduleRefresh(); if (++n === 25) { clearInterval(t); resolve(); } }, 100);
  }));
  const updatesAfter = await page.evaluate(() => window.doorstepState.counts.updates);
  check(updatesAfter > updatesBefore, `a steady stream of live events still refreshes the page (${updatesAfter - updatesBefore} refreshes in 2.5 s)`);
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
