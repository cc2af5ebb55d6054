// Compare and collections in the browser, on the compare fixtures (tests/fixtures/compare:
// two versions of one program, and two sets of per-request dumps with `render` slower in the new).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, launch, fixturesDir, screenshot } from './harness.mjs';
import * as find from './find.mjs';

const dir = path.join(fixturesDir, 'compare');
const setFiles = (name) => readdirSync(path.join(dir, name)).sort().map((f) => path.join(dir, name, f));
let server, browser, byName;

before(async () => {
  server = await startServer([path.join(dir, 'program_v1.prof'), path.join(dir, 'program_v2.prof'),
    ...setFiles('requests_base'), ...setFiles('requests_new')]);
  browser = await launch();
  const list = await (await fetch(`${server.origin}/api/profiles`)).json();
  byName = Object.fromEntries(list.map((p) => [p.name, p.id]));
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const ids = (files) => files.map((f) => byName[path.basename(f)]);

async function drawn(page, sel) {
  await page.waitForFunction((s) => Number(document.querySelector(s)?.dataset.nodes || 0) > 0, sel, { timeout: 20000 });
  return page.locator(sel);
}

/** The rows of the compare table as {name, delta, significant, insignificantClass}. */
async function compareRows(page) {
  return page.locator(find.compareRow).evaluateAll((rows) => rows.map((r) => ({
    name: r.querySelector('td.name').firstChild.textContent,
    delta: Number(r.querySelector('td[data-col="delta"]').dataset.value),
    relative: r.querySelector('td[data-col="relative"]').textContent,
    significant: r.dataset.significant,
    greyed: r.classList.contains('insignificant'),
  })));
}

test('selecting two profiles opens the compare page, which lists and draws the slower function and the vanished one', async () => {
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  const v1 = byName['program_v1.prof'], v2 = byName['program_v2.prof'];
  await page.locator(`${find.profileRow}[data-id="${v1}"] ${find.profileSelect}`).check();
  await page.locator(`${find.profileRow}[data-id="${v2}"] ${find.profileSelect}`).check();
  await page.locator(find.selectionCount).filter({ hasText: '2 selected' }).waitFor();
  await page.locator(find.compareSelected).click();
  await page.waitForURL(new RegExp(`/compare\\?base=${v1}&new=${v2}`));
  // The header names the sides.
  await page.locator(find.compareBase).filter({ hasText: 'program_v1.prof' }).waitFor();
  await page.locator(find.compareNew).filter({ hasText: 'program_v2.prof' }).waitFor();
  await page.locator(find.compareRow).first().waitFor();
  const rows = await compareRows(page);
  // Sorted by the size of the change, largest first.
  const sizes = rows.map((r) => Math.abs(r.delta));
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
  const parse = rows.find((r) => r.name === 'parse');
  assert.ok(parse && parse.delta > 0, `parse got slower: ${JSON.stringify(parse)}`);
  assert.equal(rows.find((r) => r.name === 'legacy_format').relative, 'gone');
  assert.equal(rows.find((r) => r.name === 'cache_lookup').relative, 'new');
  // The diff flame graph draws the union: a vanished path (legacy_format) and slower ones.
  const flame = await drawn(page, find.diffFlame);
  assert.ok(Number(await flame.getAttribute('data-gone')) >= 1);
  assert.ok(Number(await flame.getAttribute('data-added')) >= 1);
  assert.ok(Number(await flame.getAttribute('data-slower')) >= 1);
  // A row selects its node in the chart, and the selection is in the URL.
  await page.locator(find.compareRow, { hasText: 'parse' }).first().click();
  await page.waitForURL(/sel=\d+/);
  await page.waitForFunction((s) => Number(document.querySelector(s).dataset.selectedNodes) > 0, find.diffFlame);
  // Sort by relative change; the icicle tab; all in the URL, restored on reload.
  await page.locator(`${find.compareTable} th[data-sort="relative"]`).click();
  await page.waitForURL(/sort=relative/);
  await page.locator(find.view('diff-icicle')).click();
  await page.waitForURL(/view=diff-icicle/);
  await drawn(page, find.diffFlame);
  assert.equal(await page.locator(find.diffFlame).getAttribute('data-kind'), 'diff-icicle');
  await page.reload();
  await drawn(page, find.diffFlame);
  assert.equal(await page.locator(find.diffFlame).getAttribute('data-kind'), 'diff-icicle');
  assert.ok(Number(await page.locator(find.diffFlame).getAttribute('data-selected-nodes')) > 0);
  await screenshot(page, 'compare-versions');
  assert.deepEqual(page.problems, []);
});

test('two sets: the slower function is significant, the rest is greyed as noise', async () => {
  const page = await browser.newPage();
  const base = ids(setFiles('requests_base')).join(',');
  const next = ids(setFiles('requests_new')).join(',');
  await page.goto(`${server.origin}/compare?base=${base}&new=${next}&normalize=profile&metric=cumtime&sort=significance&order=asc`);
  await page.locator(find.compareRow).first().waitFor();
  await page.locator(find.compareTest).filter({ hasText: 'Mann–Whitney' }).waitFor();
  const rows = await compareRows(page);
  // render's cumtime (its callee spin does the slower work) is significant, near the top, not greyed.
  assert.equal(rows[0].significant, 'true');
  const render = rows.find((r) => r.name === 'render');
  assert.equal(render.significant, 'true');
  assert.equal(render.greyed, false);
  assert.ok(rows.indexOf(render) < 5, `render is among the most significant: ${rows.map((r) => r.name)}`);
  const greyed = rows.filter((r) => r.significant === 'false');
  assert.ok(greyed.length > 0 && greyed.every((r) => r.greyed), 'rows within the noise are greyed');
  const flame = await drawn(page, find.diffFlame);
  // The diff flame graph greys the paths whose change is within the noise, and keeps the slower ones.
  assert.ok(Number(await flame.getAttribute('data-noise')) > 0);
  assert.ok(Number(await flame.getAttribute('data-slower')) > 0);
  await screenshot(page, 'compare-sets');
  assert.deepEqual(page.problems, []);
});

test('a collection page shows its spread columns and distributions, sortable, and the summed dashboard', async () => {
  const profiles = ids(setFiles('requests_base'));
  const made = await (await fetch(`${server.origin}/api/collections`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'checkout', profiles }),
  })).json();
  const page = await browser.newPage();
  await page.goto(server.origin + made.url);
  await page.locator(find.collectionName).filter({ hasText: 'checkout' }).waitFor();
  await page.locator(find.collectionRow).first().waitFor();
  for (const col of ['present', 'median', 'p95', 'max']) {
    assert.equal(await page.locator(`${find.collectionTable} th[data-sort="${col}"]`).count(), 1, col);
  }
  const render = page.locator(find.collectionRow, { hasText: 'render' }).first();
  assert.equal(await render.locator('td[data-col="present"]').textContent(), `${profiles.length}/${profiles.length}`);
  assert.equal(await render.locator(find.distribution).getAttribute('data-count'), String(profiles.length));
  assert.equal(await render.locator(`${find.distribution} circle`).count(), profiles.length);
  // Sort by p95: the page's order is the API's.
  await page.locator(`${find.collectionTable} th[data-sort="p95"]`).click();
  await page.waitForURL(/csort=p95/);
  const api = await (await fetch(`${server.origin}/api/collections/${made.id}/table?sort=p95&order=desc&limit=500`)).json();
  const want = api.functions.map((f) => f.name);
  await page.waitForFunction(([sel, first]) => document.querySelector(sel)?.querySelector('td.name').firstChild.textContent === first,
    [find.collectionRow, want[0]]);
  const shown = await page.locator(find.collectionRow).evaluateAll((rows) => rows.map((r) => r.querySelector('td.name').firstChild.textContent));
  assert.deepEqual(shown, want);
  // Below: the dashboard of the summed profile.
  await drawn(page, find.icicle);
  await page.locator(find.functionRow).first().waitFor();
  await screenshot(page, 'collection');
  assert.deepEqual(page.problems, []);
});

test('dropping several files at once offers to make them a collection', async () => {
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  const files = setFiles('requests_new').slice(0, 3);
  await page.locator(find.uploadInput).setInputFiles(files);
  await page.locator(find.selectionCount).filter({ hasText: '3 selected' }).waitFor();
  await page.locator(find.collectionNameInput).fill('three requests');
  await page.locator(find.makeCollection).click();
  await page.waitForURL(/\/c\/[0-9a-f]{32}/);
  await page.locator(find.collectionName).filter({ hasText: 'three requests' }).waitFor();
  await page.locator(find.collectionRow).first().waitFor();
  const present = await page.locator(`${find.collectionRow} td[data-col="present"]`).first().textContent();
  assert.match(present, /\/3$/);
  await page.goto(server.origin + '/');
  await page.locator(find.collectionListRow, { hasText: 'three requests' }).waitFor();
  assert.deepEqual(page.problems, []);
});
