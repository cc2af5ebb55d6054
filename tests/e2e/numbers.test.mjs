// Readable numbers (issue 14, item 6): times in s/ms/µs with three significant digits instead of
// `0.000`, totals in readable units, the exact value on hover; the charts' tooltips (charts.js
// `fmt`) say what the table (crates/api/src/readable.rs through the app) says.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, corpus, truth, screenshot } from './harness.mjs';
import * as find from './find.mjs';

const PSTATS = 'pstats/cprofile_black_one_file.prof';
const AUSTIN = 'folded/austin_cpu_sleepless.austin';
let server, browser;

before(async () => {
  server = await startServer([corpus(PSTATS), corpus(AUSTIN)]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const SCALE = { s: 1, ms: 1e-3, 'µs': 1e-6, ns: 1e-9 };

/** A shown time back in seconds; fails on anything that is not `<number> <s|ms|µs|ns>`. */
function seconds(text) {
  const m = text.match(/^(-?\d+(?:\.\d+)?) (s|ms|µs|ns)$/);
  assert.ok(m, `not a readable time: ${JSON.stringify(text)}`);
  return Number(m[1]) * SCALE[m[2]];
}

/** charts.js's `fmt`, imported from the module the page itself loaded. */
async function chartsFmt(page, values, unit) {
  return page.evaluate(async ([vals, u]) => {
    const url = performance.getEntriesByType('resource').map((e) => e.name).find((n) => n.endsWith('/charts.js'));
    const charts = await import(url);
    return vals.map((v) => charts.fmt(v, u));
  }, [values, unit]);
}

test('pstats times are readable to three digits, exact on hover, and the charts format them alike', async () => {
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator(find.profileRow).nth(1).waitFor({ timeout: 20000 });
  const row = page.locator(find.profileRow).filter({ hasText: 'cprofile_black_one_file' });
  await row.locator(find.profileName).click();
  // Sort by tottime ascending so the smallest times (pstats prints them as 0.000) are on screen.
  await page.waitForURL(/\/p\//);
  await page.goto(server.origin + new URL(page.url()).pathname + '?sort=tottime&order=asc');
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  const cells = await page.evaluate(() => [...document.querySelectorAll('td[data-col="tottime"], td[data-col="cumtime"], td[data-col="percall_tottime"], td[data-col="percall_cumtime"]')]
    .map((td) => ({ text: td.textContent.trim(), value: td.dataset.value, title: td.title })));
  assert.ok(cells.length > 40, `${cells.length} cells`);
  let small = 0;
  for (const c of cells.filter((c) => c.value !== '')) {
    const v = Number(c.value);
    if (v === 0) { assert.equal(c.text, '0 s'); continue; }
    const back = seconds(c.text);
    assert.ok(Math.abs(back - v) <= 0.005 * v * 1.000001, `${v} shown as ${c.text}`);
    assert.equal(Number(c.title.replace(/ s$/, '')), v, `title ${c.title} of ${v}`);
    if (v < 1e-3) small += 1;
  }
  assert.ok(small > 10, `only ${small} sub-millisecond cells: the sort did not bring them on screen`);
  // The charts' formatter says the same for every value.
  const shown = cells.filter((c) => c.value !== '');
  const js = await chartsFmt(page, shown.map((c) => Number(c.value)), 'seconds');
  assert.deepEqual(js, shown.map((c) => c.text));
  // The detail panel: readable, exact in the title.
  await page.locator(find.functionRow).first().click();
  const dd = page.locator(`${find.functionDetail} dd[data-stat="cumtime"]`);
  await dd.waitFor();
  const exact = Number((await dd.getAttribute('title')).replace(/ s$/, ''));
  assert.equal(await dd.textContent(), (await chartsFmt(page, [exact], 'seconds'))[0]);
  await screenshot(page, 'numbers-pstats');
  assert.deepEqual(page.problems, []);
});

test('a total in microseconds reads in seconds on the profiles page and in the table', async () => {
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator(find.profileRow).nth(1).waitFor({ timeout: 20000 });
  const row = page.locator(find.profileRow).filter({ hasText: 'austin_cpu_sleepless' });
  const total = row.locator(find.profileTotal);
  const want = truth(AUSTIN).total_samples_or_metric; // µs
  const text = (await total.textContent()).trim();
  const back = seconds(text);
  assert.ok(Math.abs(back - want * 1e-6) <= 0.005 * want * 1e-6, `${want} µs shown as ${text}`);
  assert.equal(await total.getAttribute('title'), `${want} µs`);
  await row.locator(find.profileName).click();
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  const cells = await page.evaluate(() => [...document.querySelectorAll('td[data-col="self"], td[data-col="total"]')]
    .map((td) => ({ text: td.textContent.trim(), value: Number(td.dataset.value) })));
  assert.ok(cells.length > 10);
  for (const c of cells) {
    const s = seconds(c.text);
    assert.ok(Math.abs(s - c.value * 1e-6) <= 0.005 * c.value * 1e-6 + 1e-12, `${c.value} µs shown as ${c.text}`);
  }
  const js = await chartsFmt(page, cells.map((c) => c.value), 'microseconds');
  assert.deepEqual(js, cells.map((c) => c.text));
  assert.deepEqual(page.problems, []);
});
