// A national campaign's turfs and volunteers, one team at a time (issue 21), in Debian's headless
// Chromium. Run by tests/tests/dashboard.rs with `?list_max=1` on the page's address, so that the
// seeded campaign (two teams, a few dozen turfs) lists by team as one of more than 2,000 turfs
// does. The campaign's and teams' figures show at once; the turfs and volunteers wait for a team;
// choosing one lists its turfs and volunteers only. Any failed check prints `FAIL <what>`.
import { check, shot, signedIn } from './lib.mjs';

await signedIn(async (page) => {
  await page.waitForFunction(() => window.doorstepState.progress?.listed === 'by_team');
  const p = await page.evaluate(() => window.doorstepState.progress);
  check(p.turfs.length === 0 && p.volunteers.length === 0, `no turf nor volunteer listed before a team is chosen (${p.turfs.length}, ${p.volunteers.length})`);
  check(p.campaign.doors > 0 && p.teams.length === 2, `the campaign's figures and its two teams' come at once (${p.campaign.doors} doors)`);
  const teamDoors = p.teams.reduce((a, t) => a + t.stats.doors, 0);
  check(teamDoors > 0 && teamDoors <= p.campaign.doors, `the teams' doors are within the campaign's (${teamDoors} of ${p.campaign.doors})`);

  await page.click('#tab-turfs');
  const hint = await page.textContent('#list-by-team-turfs');
  check(/choisissez une équipe/.test(hint), `the turfs tab asks for a team, in French (${JSON.stringify(hint)})`);
  check(await page.locator('[data-turf]').count() === 0, 'no turf row before a team is chosen');
  await page.selectOption('#list-team-turfs', 'nord');
  await page.waitForFunction(() => window.doorstepState.progress?.listed === 'team');
  const q = await page.evaluate(() => window.doorstepState.progress);
  check(q.turfs.length > 0 && q.turfs.every((t) => t.team_id === 'nord'), `the north team's turfs only (${q.turfs.length})`);
  check(q.volunteers.length > 0 && q.volunteers.every((v) => v.team_id === 'nord'), `the north team's volunteers only (${q.volunteers.length})`);
  const rows = await page.locator('[data-turf]').count();
  check(rows === q.turfs.length, `the table lists them (${rows} rows)`);
  const north = q.teams.find((t) => t.id === 'nord');
  const listed = q.turfs.reduce((a, t) => a + t.stats.doors, 0);
  check(listed === north.stats.doors, `the team's doors are its turfs' (${listed} = ${north.stats.doors})`);
  const text = await page.textContent('#view-turfs');
  check(!/undefined|null|NaN/.test(text), 'no undefined, null or NaN on the page');
  await shot(page, '20-turfs-by-team.png');

  // The volunteers tab keeps the team chosen.
  await page.click('#tab-people');
  check(await page.inputValue('#list-team-people') === 'nord', 'the team chosen stays chosen');
});
