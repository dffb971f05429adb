// A coordinator opens a turf holding an address whose position cannot be right (a failed geocode
// at (0, 0)), in Debian's headless Chromium (issue 22). Run by tests/tests/dashboard.rs, which
// moves one building of the turf to (0, 0). The turf's view names it with what is wrong, and the
// map leaves it off (its view stays on the turf, not on the Gulf of Guinea). Any failed check
// prints `FAIL <what>` and exits 1; the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

const { TURF, BUILDING, ADDRESS } = process.env;
await signedIn(async (page) => {
  await page.click('#tab-turfs');
  await page.click(`[data-turf="${TURF}"]`);
  await page.waitForSelector('#misplaced');
  const title = await page.textContent('#misplaced strong');
  check(/^1 adresse mal placée/.test(title), `the turf's view says one address is misplaced (${JSON.stringify(title)})`);
  const item = await page.textContent(`#misplaced [data-misplaced="${BUILDING}"]`);
  check(item.startsWith(ADDRESS), `the address is named (${JSON.stringify(item)})`);
  check(/position \(0, 0\)/.test(item) && /\d km/.test(item), `what is wrong is said, with the distance (${JSON.stringify(item)})`);
  check(!/undefined|null|NaN/.test(item), 'no undefined, null or NaN in the warning');
  // The map shows the turf, not the whole world: the misplaced address is left off.
  const view = await page.evaluate(() => {
    const b = window.doorstepMap.getBounds();
    return { south: b.getSouth(), north: b.getNorth(), west: b.getWest(), east: b.getEast() };
  });
  check(view.north - view.south < 1 && view.east - view.west < 1, `the map stays on the turf (${JSON.stringify(view)})`);
  check(!(view.south <= 0 && view.north >= 0 && view.west <= 0 && view.east >= 0), 'the map does not reach (0, 0)');
  await shot(page, '17-misplaced.png');
});
