// A coordinator texts the north team from the dashboard's SMS tab in Debian's headless Chromium
// (issue 19). Run by tests/tests/dashboard.rs, which sets the campaign's texts up (signature,
// polling day, a local SMPP centre), gives three north volunteers numbers (two consented) and
// leaves a reply in the inbox first. The page shows the gate's verdict per recipient before
// anything goes, in French, never "undefined" or "null"; the send is queued once (a second click
// queues nothing more); the reply is marked "to answer". Any failed check prints `FAIL <what>` and
// exits 1; the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

await signedIn(async (page) => {
  await page.click('#tab-sms');
  await page.waitForSelector('#sms-body');
  check((await page.textContent('#sms-provider')).includes('smpp'), 'the provider is named, never its password');
  const north = await page.$$eval('#sms-audience option', (os) => os.map((o) => [o.value, o.textContent]).find(([, l]) => /nord/i.test(l)));
  check(north, 'the north team is among the recipients');
  await page.selectOption('#sms-audience', north[0]);
  await page.selectOption('#sms-purpose', 'team_news');
  await page.fill('#sms-body', 'Équipe Martin : rendez-vous samedi 10 h au local. STOP au 36180');
  await page.click('#sms-check');
  await page.waitForSelector('#sms-summary');
  const summary = await page.textContent('#sms-summary');
  check(summary.startsWith('2 autorisé(s), '), `the gate's count: ${summary} ${await page.textContent('#sms-verdict')}`);
  check(summary.includes('1 SMS (160 caractères par SMS)'), `the length in texts: ${summary}`);
  const refused = await page.$$eval('[data-refused]', (xs) => xs.map((x) => x.textContent));
  check(refused.some((r) => r.startsWith('aucun consentement')), `a refusal said in French: ${JSON.stringify(refused)}`);
  check(!refused.some((r) => r.includes(' / ')), 'in French only');
  const verdict = await page.textContent('#sms-verdict');
  check(!/\+33611223301/.test(verdict) && verdict.includes('•• ••'), 'numbers masked');
  await shot(page, '16-sms.png');
  await page.click('#sms-send');
  await page.waitForFunction(() => /en file d’envoi/.test(document.getElementById('toast').textContent));
  const queued = await page.textContent('#toast');
  check(queued.startsWith('2 SMS en file'), `two texts queued (${JSON.stringify(queued)})`);
  await page.waitForSelector('[data-reply]');
  await page.click('#sms-send');
  await page.waitForFunction(() => /^0 SMS en file/.test(document.getElementById('toast').textContent));
  check(true, 'a second click queues nothing more');
  await page.waitForSelector('[data-reply]');
  const replyId = await page.getAttribute('[data-reply]', 'data-reply');
  await page.selectOption(`[data-reply="${replyId}"]`, 'needs_reply');
  await page.waitForTimeout(300);
  const text = await page.textContent('#view-sms');
  check(text.includes('Je serai là samedi, avec mon voisin'), 'the reply in the inbox');
  check(text.includes('Envois') && text.includes('en attente'), 'each text\'s state, explained');
  check(text.includes('Personne n’a répondu STOP.'), 'the STOP list');
  check(!/undefined|null|NaN|\[object/.test(text), `no undefined, null or NaN: ${JSON.stringify(text.slice(0, 300))}`);
});
