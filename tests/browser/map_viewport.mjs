// A coordinator's map of a large campaign, loaded by part (issue 21), in Debian's headless
// Chromium. Run by tests/tests/dashboard.rs with `?map_full=100` on the page's address, so that the
// seeded campaign (a few hundred doors) counts as large. Far out, squares with their doors and
// knocked doors and a hint to zoom in; up close, the addresses in view only; a turf's view still
// lists its streets. Any failed check prints `FAIL <what>` and exits 1; the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

await signedIn(async (page) => {
  // Settled: the squares shown are those of the map's zoom (the first view moves once, to the campaign).
  const settled = () => window.doorstepState.counts.cells > 0 && window.doorstepState.mapPartZoom === window.doorstepMap.getZoom();
  await page.waitForFunction(settled);
  await page.waitForTimeout(400);
  await page.waitForFunction(settled);
  const far = await page.evaluate(() => ({
    mode: window.doorstepState.mapMode,
    cells: window.doorstepState.cells,
    buildings: window.doorstepState.buildings.length,
    zoom: window.doorstepMap.getZoom(),
    hint: document.getElementById('zoom-hint')?.hidden === false ? document.getElementById('zoom-hint').textContent : null,
  }));
  check(far.mode === 'viewport', `the map loads by part (${far.mode})`);
  check(far.buildings === 0 && far.zoom < 16, `far out, no address is loaded (${far.buildings} at zoom ${far.zoom})`);
  const doors = far.cells.reduce((a, c) => a + c.doors, 0);
  const progress = await page.evaluate(() => window.doorstepState.progress.campaign.doors);
  check(doors === progress, `the squares hold every door of the campaign (${doors} of ${progress})`);
  check(far.cells.every((c) => c.knocked <= c.doors && c.contacted <= c.knocked), 'each square: contacted ≤ knocked ≤ doors');
  check(/^Zoomez pour voir les adresses/.test(far.hint || ''), `a hint says to zoom in (${JSON.stringify(far.hint)})`);
  // A square's tooltip, as a user hovering it reads it.
  const busiest = far.cells.reduce((a, c) => (c.doors > a.doors ? c : a));
  const centre = [busiest.south + busiest.size / 2, busiest.west + busiest.size / 2];
  const at = await page.evaluate(([lat, lon]) => {
    const p = window.doorstepMap.latLngToContainerPoint([lat, lon]);
    const r = document.getElementById('map').getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, centre);
  await page.mouse.move(at.x, at.y);
  const tip = await page.waitForSelector('.leaflet-tooltip');
  const text = await tip.textContent();
  check(/^Portes : [\d\u00a0\u202f ]+ · Frappées : [\d\u00a0\u202f ]+ \([\d,]+[\u00a0\u202f ]?%\) · Contacts : [\d\u00a0\u202f ]+$/.test(text), `the square's tooltip reads as French figures (${JSON.stringify(text)})`);
  check(!/undefined|null|NaN/.test(text), 'no undefined, null or NaN in the tooltip');
  await shot(page, '18-map-squares.png');

  // Up close: the addresses in view, and no square.
  await page.evaluate(([lat, lon]) => { window.doorstepMap.setView([lat, lon], 17, { animate: false }); }, centre);
  await page.waitForFunction(() => window.doorstepState.buildings.length > 0 && window.doorstepState.cells.length === 0);
  const close = await page.evaluate(() => {
    const b = window.doorstepMap.getBounds().pad(0.3);
    const all = window.doorstepState.buildings;
    return { n: all.length, inside: all.filter((x) => b.contains([x.lat, x.lon])).length, hint: document.getElementById('zoom-hint').hidden };
  });
  check(close.n > 0 && close.inside === close.n, `up close, only the addresses in view are loaded (${close.inside} of ${close.n} in view)`);
  check(close.hint === true, 'the hint is gone up close');
  const streetsClose = await page.evaluate(() => window.doorstepState.counts.streets);
  check(streetsClose > 0, `up close, the streets of the view are drawn (${streetsClose} segments)`);
  await shot(page, '19-map-viewport.png');

  // Far out again: squares, and no street is loaded.
  await page.evaluate(() => { window.doorstepMap.setZoom(10, { animate: false }); });
  await page.waitForFunction(() => window.doorstepState.mapPartZoom === 10);
  const farAgain = await page.evaluate(() => ({ streets: window.doorstepState.counts.streets, cells: window.doorstepState.cells.length, buildings: window.doorstepState.buildings.length }));
  check(farAgain.streets === 0 && farAgain.cells > 0 && farAgain.buildings === 0, `at zoom 10, squares only (${JSON.stringify(farAgain)})`);

  // A turf's view lists its streets, read for it whatever is in view.
  await page.click('#tab-turfs');
  const first = await page.getAttribute('[data-turf]', 'data-turf');
  await page.click(`[data-turf="${first}"]`);
  await page.waitForSelector('#streets [data-street]');
  const streets = await page.$$eval('#streets [data-street]', (bs) => bs.length);
  check(streets > 0, `the turf's view lists its streets (${streets})`);
});
