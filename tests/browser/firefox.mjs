// The captain's path through the dashboard in Debian's Firefox ESR, headless, driven by
// puppeteer-core over WebDriver BiDi (no geckodriver, never a downloaded browser). Run by
// tests/tests/dashboard.rs like dashboard.mjs: prints `SELECTED <ids>` and `MOVED <street>` once it
// has moved addresses and a street in the page, waits for `SYNCED <building id>` on stdin (the phone
// knocked there and synced), checks the open map updated live, and prints `DONE`.
import puppeteer from 'puppeteer-core';
import readline from 'node:readline';
import path from 'node:path';
import { check, fail } from './lib.mjs';

const { BASE_URL, LOGIN, PASSWORD, SOURCE_TURF, TARGET_VOLUNTEER, SHOTS } = process.env;
const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name) });
const text = (page, sel) => page.$eval(sel, (e) => e.textContent);

const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, extraPrefsFirefox: { 'intl.accept_languages': 'fr-FR, fr' } });
try {
  const version = await browser.version();
  check(/firefox/i.test(version), `running in ${version}`);
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.setViewport({ width: 1280, height: 820 });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) problems.push(m.text()); });

  await page.goto(BASE_URL);
  await page.waitForSelector('#login-name', { visible: true });
  check((await text(page, '#login-submit')).trim() === 'Se connecter', 'French first');
  await page.type('#login-name', LOGIN);
  await page.type('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForFunction(() => window.doorstepState?.counts.buildings > 100 && window.doorstepState.counts.streets > 500);
  const counts = await page.evaluate(() => window.doorstepState.counts);
  check(true, `map shows ${counts.buildings} buildings and ${counts.streets} street segments`);
  check(await page.$$eval('#map canvas', (c) => c.length) > 0, 'the map is drawn (canvas)');
  await page.waitForFunction(() => document.querySelector('#live').dataset.state === 'on');
  check(true, 'live updates connected (server-sent events)');
  const knocksBefore = await page.evaluate(() => Number(document.querySelector('#stat-knocks').textContent.replace(/[^0-9]/g, '')));
  await shot(page, 'ff-1-map.png');

  // Keyboard: arrows move between tabs.
  await page.focus('#tab-progress');
  await page.keyboard.press('ArrowRight');
  check(await page.$eval('#tab-results', (e) => e.getAttribute('aria-selected')) === 'true', 'tabs follow the arrow keys');

  // A street of the source turf to the target volunteer, from the turf's street list.
  await page.click('#tab-turfs');
  await page.click(`[data-turf="${SOURCE_TURF}"]`);
  await page.waitForSelector('#streets [data-street]');
  const street = await page.$eval('#streets [data-street]', (e) => e.dataset.street);
  // Two refreshes follow a move: the page's own, and the live event's. Wait for both before the
  // next click (a refresh re-draws the view under the pointer).
  const updates = await page.evaluate(() => window.doorstepState.counts.updates);
  await page.click('#streets [data-street]');
  await page.waitForSelector('#dialog[open]');
  await page.select('#move-to', TARGET_VOLUNTEER);
  await page.click('#dialog-ok');
  await page.waitForFunction(() => /déplacée/.test(document.querySelector('#toast').textContent));
  await page.waitForFunction(([t, s]) => !window.doorstepState.buildings.some((b) => b.turf_id === t && b.street === s), {}, [SOURCE_TURF, street]);
  await page.waitForFunction((n) => window.doorstepState.counts.updates >= n + 2, {}, updates);
  check(true, `street « ${street} » moved in the page`);

  // Two addresses ticked in the turf's list, moved together.
  await page.click(`[data-turf="${SOURCE_TURF}"]`);
  await page.click('#address-list summary');
  const ids = await page.$$eval('#address-list input[data-building]:not(:checked)', (bs) => bs.slice(0, 2).map((b) => b.dataset.building));
  await page.click(`[data-building="${ids[0]}"]`);
  await page.focus(`[data-building="${ids[1]}"]`);
  await page.keyboard.press(' ');
  const chosen = await page.evaluate(() => [...window.doorstepState.selection]);
  check(chosen.length === 2, 'two addresses ticked (one by mouse, one by keyboard)');
  check(/^2 adresse/.test(await text(page, '#selection-count')), 'the selection bar counts them');
  await page.click('#move-selection');
  await page.waitForSelector('#dialog[open]');
  await page.select('#move-to', TARGET_VOLUNTEER);
  await page.click('#dialog-ok');
  await page.waitForFunction((ids, t) => ids.every((id) => { const b = window.doorstepState.buildings.find((x) => x.id === id); return b && b.turf_id !== t; }), {}, chosen, SOURCE_TURF);
  check(true, 'the selected addresses moved');
  await shot(page, 'ff-2-moved.png');
  console.log(`SELECTED ${chosen.join(',')}`);
  console.log(`MOVED ${street}`);

  // The phone syncs a knock on the moved street: the open page updates by itself.
  const synced = (await nextLine()).replace(/^SYNCED /, '');
  await page.click('#tab-progress');
  await page.waitForFunction((id) => window.doorstepState.buildings.find((b) => b.id === id)?.knocked > 0, {}, synced);
  await page.waitForFunction((n) => Number(document.querySelector('#stat-knocks').textContent.replace(/[^0-9]/g, '')) === n + 1, {}, knocksBefore);
  check(true, 'the knock reached the open map and the progress without a reload');

  // English on demand; phone width without sideways scrolling.
  await page.click('header .lang-toggle');
  check((await text(page, '#tab-progress')).trim() === 'Progress', 'English interface');
  await page.click('header .lang-toggle');
  await page.setViewport({ width: 390, height: 844 });
  await new Promise((r) => setTimeout(r, 300));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `usable at phone width (overflow ${overflow}px)`);
  await shot(page, 'ff-3-phone-width.png');
  check(problems.length === 0, `no script error ${JSON.stringify(problems)}`);
  console.log('DONE');
} catch (e) {
  fail(e.stack || e.message);
} finally {
  await browser.close();
  lines.close();
}
