// A coordinator types a paper walk sheet's results in Debian's headless Chromium: the turf's
// sheet downloads as a PDF; the grid takes rows by door code (typed as a person would, lower
// case with a dash); a row with a code of no door of the sheet stays, with why. Run by
// tests/tests/dashboard.rs. Any failed check prints `FAIL <what>` and exits 1; the end `DONE`.
import { check, shot, signedIn } from './lib.mjs';

const { TURF, TURF_NAME, CODE_A, CODE_B } = process.env;
await signedIn(async (page) => {
  await page.click('#tab-turfs');
  const link = page.locator(`[data-sheet="${TURF}"]`);
  await link.waitFor();
  const pdf = await page.evaluate(async (href) => {
    const r = await fetch(href);
    const b = new Uint8Array(await r.arrayBuffer());
    return { type: r.headers.get('content-type'), head: String.fromCharCode(...b.slice(0, 5)), size: b.length };
  }, await link.getAttribute('href'));
  check(pdf.type === 'application/pdf' && pdf.head === '%PDF-' && pdf.size > 10000, `the turf's sheet is a PDF (${JSON.stringify(pdf)})`);
  const before = await page.evaluate(() => window.doorstepState.progress.campaign.knocked);
  await page.click(`[data-paper="${TURF}"]`);
  await page.waitForSelector('dialog[open] .paper-grid');
  check((await page.textContent('#dialog-title')).includes(TURF_NAME), 'the grid names the turf');
  const options = await page.locator('tr[data-line="1"] .paper-result option').allTextContents();
  check(options[0] === '1 Absent', `results numbered as on the sheet's legend: ${options.slice(0, 3)}`);
  const a = CODE_A.toLowerCase();
  await page.fill('tr[data-line="1"] .paper-code', `${a.slice(0, 3)}-${a.slice(3)}`);
  await page.selectOption('tr[data-line="1"] .paper-result', '1');
  await page.fill('tr[data-line="2"] .paper-code', CODE_B);
  await page.selectOption('tr[data-line="2"] .paper-result', '2');
  await page.fill('tr[data-line="2"] .paper-note', 'Chien dans la cour');
  await page.fill('tr[data-line="3"] .paper-code', 'ZZZZZZ');
  await page.click('#dialog-ok');
  await page.waitForFunction(() => document.querySelector('#dialog-error')?.textContent.includes('ligne 3'));
  const error = await page.textContent('#dialog-error');
  check(/ligne 3 : aucune porte de cette feuille n'a le code ZZZZZZ/.test(error), `the unreadable row says why: ${error}`);
  const marks = await page.locator('.paper-status').allTextContents();
  check(marks[0] === '✓' && marks[1] === '✓', `the two good rows are recorded: ${marks.slice(0, 3)}`);
  await shot(page, '11-paper.png');
  await page.click('#dialog-cancel');
  await page.waitForFunction((n) => window.doorstepState.progress.campaign.knocked >= n + 2, before);
  check(true, 'the dashboard counts the two doors typed from paper');
});
