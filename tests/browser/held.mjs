// A captain reviews what a revoked phone sent after its revocation, in Debian's headless
// Chromium. Run by tests/tests/dashboard.rs, which revokes a north volunteer's phone after it
// knocked two doors offline and lets it sync (its reports are held, not counted). Any failed
// check prints `FAIL <what>` and exits 1; the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

const { HELD } = process.env;
const [first, second] = HELD.split(',');
await signedIn(async (page) => {
  const badge = await page.textContent('#overlap-badge');
  check(badge.trim() === '2' && await page.isVisible('#overlap-badge'), `the tab's badge counts the two held reports (${badge})`);
  await page.click('#tab-overlaps');
  await page.waitForSelector('#held-title');
  check((await page.textContent('#held-title')).includes('appareils révoqués'), 'the held reports have their own title');
  const buttons = await page.locator('button[data-held]').count();
  check(buttons === 4, `two reports waiting, each with accept and discard (${buttons} buttons)`);
  const text = await page.textContent('#view-overlaps');
  check(!/undefined|null|NaN/.test(text), `no undefined, null or NaN on the page: ${JSON.stringify(text.slice(0, 300))}`);
  check(/Bénévole/.test(text), 'the volunteer is named');
  check(/Absent/.test(text) && !/not_home/.test(text), 'the result is shown by its French label, not its code');
  const legend = await page.textContent('#legend');
  check(!/null|undefined/.test(legend), `the map's legend says only what it shows: ${JSON.stringify(legend)}`);
  await shot(page, '6-held.png');

  await page.click(`button[data-held="${first}"][data-accept="true"]`);
  await page.waitForFunction((id) => !document.querySelector(`button[data-held="${id}"]`), first);
  await page.click(`button[data-held="${second}"][data-accept="false"]`);
  await page.waitForFunction((id) => !document.querySelector(`button[data-held="${id}"]`), second);
  const after = await page.textContent('#view-overlaps');
  check(/accepté/.test(after) && /écarté/.test(after), 'each review is shown beside its report');
  await page.waitForFunction(() => document.querySelector('#overlap-badge').hidden);
  check(true, 'nothing waits any more: the badge is gone');
  await shot(page, '7-held-reviewed.png');
});
