// The north captain reads and answers the team's messages in Debian's headless Chromium. Run by
// tests/tests/dashboard.rs, which has a north volunteer's phone write PHONE_TEXT offline and sync
// first. The captain sees the unread count, opens the Messages tab, reads, answers, pins the
// answer; then the coordinator writes in the same channel from elsewhere and the captain's open
// page shows it live (no reload). Any failed check prints `FAIL <what>` and exits 1; the end prints `DONE`.
import { check, shot, signedIn } from './lib.mjs';

const { COORD_TOKEN, PHONE_TEXT, REPLY, LIVE_TEXT } = process.env;
await signedIn(async (page) => {
  await page.waitForFunction(() => document.querySelector('#message-badge') && !document.querySelector('#message-badge').hidden);
  check((await page.textContent('#message-badge')).trim() === '1', 'one unread message on the tab');
  await page.click('#tab-messages');
  await page.waitForSelector('[data-thread="team:nord"]');
  const text = await page.textContent('#view-messages');
  check(!/undefined|null|NaN/.test(text), `no undefined, null or NaN in the messages tab: ${JSON.stringify(text.slice(0, 300))}`);
  check(text.includes(PHONE_TEXT) && text.includes('Bénévole 0'), 'the phone\'s message, with its author');
  check(text.includes('Équipe nord') && text.includes('Annonces'), 'the captain\'s channels');
  await page.waitForFunction(() => document.querySelector('#message-badge').hidden, null, { timeout: 5000 });
  // Answer, then pin the answer.
  await page.fill('[data-compose]', REPLY);
  await page.click('[data-send]');
  await page.waitForFunction((r) => [...document.querySelectorAll('[data-thread] .message.mine')].some((m) => m.textContent.includes(r)), REPLY);
  const mine = page.locator('[data-thread] .message.mine', { hasText: REPLY });
  await mine.locator('[data-pin]').click();
  await page.waitForFunction((r) => document.querySelector('[data-pinned]')?.textContent.includes(r), REPLY);
  check((await mine.locator('[data-pin]').textContent()).trim() === 'Désépingler', 'the pinned message offers to unpin');
  // The coordinator writes from elsewhere: the open page shows it live, with a toast.
  const sent = await page.evaluate(async ({ token, body }) => {
    const r = await fetch('/api/v1/messages', { method: 'POST', credentials: 'omit',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel_id: 'team:nord', action: { kind: 'post', body } }) });
    return r.status;
  }, { token: COORD_TOKEN, body: LIVE_TEXT });
  check(sent === 201, `the coordinator's message was taken (${sent})`);
  await page.waitForFunction((t) => document.querySelector('[data-thread]')?.textContent.includes(t), LIVE_TEXT, { timeout: 5000 });
  await shot(page, '14-messages.png');
});
