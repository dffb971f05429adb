// A coordinator opens a volunteer's page in Debian's headless Chromium (issue 18). Run by
// tests/tests/dashboard.rs, which has the volunteer's phone set a photo, a pseudonym and a few
// words, and knock doors first. The page shows what the volunteer lets the staff see (their
// photo, words, figures), never "undefined" or "null"; the coordinator exports the volunteer's
// data as a JSON download. Any failed check prints `FAIL <what>` and exits 1; the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

const { VOLUNTEER_ID, VOLUNTEER_NAME, BIO, DOORS } = process.env;
await signedIn(async (page) => {
  await page.click('#tab-people');
  await page.click(`[data-page="${VOLUNTEER_ID}"]`);
  await page.waitForSelector('#page-name');
  const text = await page.textContent('#dialog');
  check(!/undefined|null|NaN|\[object/.test(text), `no undefined, null or NaN on the page: ${JSON.stringify(text.slice(0, 400))}`);
  check((await page.textContent('#page-name')).trim() === VOLUNTEER_NAME, 'the name (a coordinator always sees it)');
  check(text.includes(BIO), 'the volunteer\'s own words');
  check(text.includes('Portes frappées') && text.includes(DOORS), `the doors knocked, from the reports (${DOORS})`);
  check(text.includes('Bénévole'), 'the role, in French');
  const photo = await page.waitForFunction(() => {
    const img = document.querySelector('.page-photo');
    return img && img.complete && img.naturalWidth;
  });
  check((await photo.jsonValue()) === 256, 'the photo, 256 px');
  await shot(page, '15-volunteer-page.png');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#page-export')]);
  const file = await download.path();
  const doc = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
  check(doc.format === 'doorstep.personal-data/1' && doc.data.account.user_id === VOLUNTEER_ID, 'the export downloads as one JSON document');
  check(String(doc.data.reports.length) === DOORS, 'with every report made');
  await page.click('#dialog-ok');
  check(!(await page.isVisible('#dialog')), 'the page closes');
});
