// The polling-station priority choropleth in Debian's headless Chromium. Run by
// tests/tests/dashboard.rs, which serves a Lyon campaign (real addresses of the 1st
// arrondissement, the 288 bureau boundaries and the 2012 first-round results, a formula) and
// prints `DONE` at the end. Any failed check prints `FAIL <what>` and exits 1.
import { check, fail, frenchPage, launch, shot, signIn } from './lib.mjs';

const { BASE_URL, LOGIN, PASSWORD, STATIONS } = process.env;
const browser = await launch();
try {
  const { page, problems } = await frenchPage(browser);
  await page.goto(BASE_URL);
  await signIn(page, LOGIN, PASSWORD);
  await page.waitForFunction((n) => window.doorstepState?.counts.stations === n && window.doorstepState.choropleth.length === n, Number(STATIONS));
  check(true, `the choropleth draws the ${STATIONS} bureaux`);
  // This campaign has addresses but no street network: the dashboard says so plainly.
  check(await page.locator('#no-streets').isVisible(), 'a campaign without streets is told so');
  check(/Aucun réseau de rues.*vol d'oiseau/.test(await page.textContent('#no-streets')), 'in French, first, saying what it means');
  // Nobody has knocked yet: the timeline says so rather than drawing a scale of nothing.
  const chartText = await page.textContent('svg.chart');
  check(chartText.includes('Aucun passage pour l’instant') && !chartText.includes('max'), `an empty timeline says so: ${JSON.stringify(chartText)}`);

  // Darker is higher priority: the fill follows the priority, highest darkest.
  const c = await page.evaluate(() => window.doorstepState.choropleth);
  const sorted = [...c].sort((a, b) => a.priority - b.priority);
  check(sorted.every((x, i) => i === 0 || x.fillOpacity >= sorted[i - 1].fillOpacity), 'fill opacity rises with priority');
  const top = sorted.at(-1);
  check(top.priority > 0 && top.fillOpacity > sorted[0].fillOpacity, `bureau ${top.id} (priority ${Math.round(top.priority)}) is the darkest`);
  check(/Priorité \(bureaux\)/.test(await page.textContent('#legend')), 'the legend explains the shading');

  // Hovering a bureau (a spot of it with no building drawn over) names it with its figures.
  const spot = await page.evaluate(() => {
    const map = window.doorstepMap;
    map.setZoom(map.getZoom()); // settle
    const size = map.getSize();
    const buildings = window.doorstepState.buildings.map((b) => map.latLngToContainerPoint([b.lat, b.lon]));
    const layers = [];
    map.eachLayer((l) => { if (l.feature?.properties?.id !== undefined && l._containsPoint) layers.push(l); });
    for (let y = 80; y < size.y - 80; y += 12) {
      for (let x = 80; x < size.x - 80; x += 12) {
        if (buildings.some((p) => Math.abs(p.x - x) < 12 && Math.abs(p.y - y) < 12)) continue;
        const lp = map.containerPointToLayerPoint([x, y]);
        const hit = layers.filter((l) => l._containsPoint(lp));
        if (hit.length === 1) return { x, y, id: hit[0].feature.properties.id };
      }
    }
    return null;
  });
  check(spot !== null, 'a spot of a bureau free of buildings is on screen');
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + spot.x, box.y + spot.y);
  await page.mouse.move(box.x + spot.x + 2, box.y + spot.y + 1);
  await page.waitForSelector('.station-tip');
  const tip = await page.textContent('.station-tip');
  check(tip.includes(`Bureau de vote ${spot.id}`) && /Inscrits/.test(tip) && /Abstention/.test(tip), `hovering names the bureau: ${JSON.stringify(tip)}`);
  await shot(page, '5-choropleth.png');

  // The results can be filtered by bureau.
  await page.click('#tab-results');
  await page.waitForSelector('#filter-station');
  const options = await page.locator('#filter-station option').count();
  check(options >= Number(STATIONS), `the results filter lists the bureaux (${options - 1})`);
  check(problems.length === 0, `no script error and no content-security-policy violation ${JSON.stringify(problems)}`);
  console.log('DONE');
} catch (e) {
  fail(e.stack || e.message);
} finally {
  await browser.close();
}
