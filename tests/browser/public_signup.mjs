// A supporter without an account signs up on a session's public page in Debian's headless
// Chromium, as a person would (reads, fills, ticks the consent box, sends); then the coordinator
// sees the sign-up counted on the session's card. Run by tests/tests/dashboard.rs. Any failed
// check prints `FAIL <what>` and exits 1; the end prints `DONE`.
import { check, fail, frenchPage, launch, shot, signIn } from './lib.mjs';

const { BASE_URL, LOGIN, PASSWORD, SESSION_ID, SESSION_TITLE } = process.env;
const browser = await launch();
try {
  const { page, problems } = await frenchPage(browser);
  const response = await page.goto(`${BASE_URL}/p/${SESSION_ID}`);
  check(response.status() === 200, `the public page answers 200 (${response.status()})`);
  const text = await page.textContent('main');
  check(!/undefined|null|NaN/.test(text), `no undefined, null or NaN on the page: ${JSON.stringify(text.slice(0, 300))}`);
  check(text.includes(SESSION_TITLE), 'the session\'s title');
  check(/(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d+(er)? \S+ de \d+ h( \d\d)? à \d+ h/.test(text), `the day and hours in French: ${text.slice(0, 200)}`);
  check(text.includes('Il reste 8 places'), 'the places left');
  check(text.includes('accepte que « Démo — Nantes centre » enregistre mon nom'), 'the consent text, naming the campaign');
  check(text.includes('Responsable du traitement') && text.includes('CNIL'), 'the rights notice');
  const hp = await page.locator('#website').boundingBox();
  check(!hp || hp.x + hp.width <= 0, `the honeypot field is off the screen, not shown to people (${JSON.stringify(hp)})`);
  check(await page.evaluate(() => document.scripts.length === 0), 'the page runs no script');
  await shot(page, '9-public-signup.png');
  await page.fill('#name', 'Zoé Martin');
  await page.fill('#email', 'zoe.martin@exemple.fr');
  await page.check('input[name=consent]');
  // A person reads before sending (the page refuses a form sent within 3 s of its display).
  await page.waitForTimeout(3500);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.waitForSelector('.thanks');
  const after = await page.textContent('main');
  check(after.includes('Merci ! Votre inscription est enregistrée.') && after.includes('Il reste 7 places'), `thanked, one place fewer: ${after.slice(0, 300)}`);
  check(!(await page.isVisible('form')), 'the form is not offered again');
  await shot(page, '10-public-thanks.png');

  await page.goto(BASE_URL);
  await signIn(page, LOGIN, PASSWORD);
  await page.waitForFunction(() => window.doorstepState?.progress);
  await page.click('#tab-sessions');
  const card = page.locator('#view-sessions article.session', { hasText: SESSION_TITLE });
  await card.waitFor();
  const signed = (await card.locator('[data-figure="signed_up"]').textContent()).trim();
  const pub = (await card.locator('[data-figure="public"]').textContent()).trim();
  check(signed === '1' && pub === '(dont 1 sans compte)', `1 signed up, without an account: ${signed} ${pub}`);
  const link = await card.locator('[data-public-page]').getAttribute('href');
  check(link === `/p/${SESSION_ID}`, `the card links the public page: ${link}`);

  // The coordinator gives the session two more places: the public page says so.
  await card.locator('[data-places]').fill('10');
  await card.locator('[data-save-places]').click();
  await page.waitForFunction(() => document.querySelector('#toast')?.textContent.includes('Séance mise à jour.'));
  await shot(page, '12-session-places.png');
  const pub2 = await browser.newPage();
  await pub2.goto(`${BASE_URL}/p/${SESSION_ID}`);
  check((await pub2.textContent('main')).includes('Il reste 9 places'), 'ten places, one taken: nine left on the public page');
  // Then calls it off, after saying yes to the question; the card says so and offers nothing
  // more; the public page no longer takes sign-ups.
  const card2 = page.locator('#view-sessions article.session', { hasText: SESSION_TITLE });
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await card2.locator('[data-call-off]').click();
  await page.waitForFunction((title) => [...document.querySelectorAll('#view-sessions article.session')]
    .some((a) => a.textContent.includes(title) && a.textContent.includes('(annulée)')), SESSION_TITLE);
  check(asked.includes(`Annuler « ${SESSION_TITLE} » ?`) && asked.includes('ne se rouvre pas'), `asked first, in French: ${asked}`);
  check(await page.locator('#view-sessions article.session', { hasText: SESSION_TITLE }).locator('[data-call-off]').count() === 0, 'no action left on a called-off session');
  check(await page.locator('#view-sessions article.session', { hasText: SESSION_TITLE }).locator('[data-public-page]').count() === 0, 'no public page link once called off');
  await shot(page, '13-session-called-off.png');
  const closed = await pub2.goto(`${BASE_URL}/p/${SESSION_ID}`);
  check(closed.status() === 404 && (await pub2.textContent('main')).includes("n'est plus ouverte aux inscriptions"), 'the public page is closed');
  check(problems.length === 0, `no script error and no content-security-policy violation ${JSON.stringify(problems)}`);
  console.log('DONE');
} catch (e) {
  fail(e.stack || e.message);
} finally {
  await browser.close();
}
