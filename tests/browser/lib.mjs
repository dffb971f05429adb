// Shared by the browser scripts: Debian's Chromium (never a downloaded browser), checks that print
// `ok <what>` or `FAIL <what>` (then exit 1), screenshots, and script errors and CSP violations
// collected from the page.
import { chromium } from 'playwright-core';
import path from 'node:path';

export const fail = (what) => { console.log(`FAIL ${what}`); process.exit(1); };
export const check = (ok, what) => { if (!ok) fail(what); console.log(`ok ${what}`); };
export const shot = (page, name) => page.screenshot({ path: path.join(process.env.SHOTS, name), fullPage: false });

export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A French page at desktop size; `problems` collects script errors and console errors. */
export async function frenchPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'fr-FR' });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The page asks for its session before signing in (401) and after a wrong password: expected.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  return { page, problems };
}

export async function signIn(page, login, password) {
  await page.fill('#login-name', login);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

/**
 * Signs in at BASE_URL as LOGIN / PASSWORD on a French page of Debian's Chromium, waits for the
 * dashboard's first figures, runs `body(page)`, then checks that no script error or
 * content-security-policy violation happened and prints `DONE`; any failure prints `FAIL <what>`
 * and exits 1.
 */
export async function signedIn(body) {
  const browser = await launch();
  try {
    const { page, problems } = await frenchPage(browser);
    await page.goto(process.env.BASE_URL);
    await signIn(page, process.env.LOGIN, process.env.PASSWORD);
    await page.waitForFunction(() => window.doorstepState?.progress);
    await body(page);
    check(problems.length === 0, `no script error and no content-security-policy violation ${JSON.stringify(problems)}`);
    console.log('DONE');
  } catch (e) {
    fail(e.stack || e.message);
  } finally {
    await browser.close();
  }
}
