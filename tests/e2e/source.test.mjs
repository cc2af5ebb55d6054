// The detail panel's source tab (issue 14, item 4): `serve --source-root DIR` shows a function's
// source from files under DIR; without it the tab says how to turn it on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launch, corpus, screenshot, fixturesDir } from './harness.mjs';
import * as find from './find.mjs';

const FOLDED = 'folded/pyspy_cpu_raw_default.txt';
const ROOT = path.join(fixturesDir, 'source');
const SOURCE = readFileSync(path.join(ROOT, 'cpu_work.py'), 'utf8').split('\n');
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Opens the profile, selects the first table row whose name is `name`, opens the source tab. */
async function openSource(server, name) {
  const page = await browser.newPage();
  await page.goto(server.url + `?q=${encodeURIComponent(name)}`);
  const row = page.locator(find.functionRow).filter({ has: page.locator(`${find.cell('name')}:text-is("${name}")`) }).first();
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.locator(find.detailName).filter({ hasText: name }).waitFor();
  await page.locator(find.detailTab('source')).click();
  return page;
}

test('with --source-root the source tab shows the function\'s file, its line marked', async () => {
  const server = await startServer([corpus(FOLDED)], ['--source-root', ROOT]);
  try {
    const page = await openSource(server, 'parse_stdlib');
    await page.locator(find.functionSource).waitFor({ timeout: 10000 });
    const rows = await page.locator(find.sourceLine).evaluateAll((trs) => trs.map((tr) => ({
      n: Number(tr.dataset.line), text: tr.querySelector('pre').textContent, mark: tr.classList.contains('mark') })));
    assert.ok(rows.length >= 10);
    for (const r of rows) assert.equal(r.text, SOURCE[r.n - 1], `line ${r.n}`);
    const marked = rows.filter((r) => r.mark);
    assert.equal(marked.length, 1);
    // The marked line is inside parse_stdlib: at or below its `def` and before the next one.
    const def = SOURCE.findIndex((l) => l.startsWith('def parse_stdlib')) + 1;
    const next = SOURCE.findIndex((l, i) => i >= def && l.startsWith('def ')) + 1;
    assert.ok(marked[0].n >= def && marked[0].n < next, `marked ${marked[0].n}, def ${def}, next def ${next}`);

    // The heat column: each line the profile has a cost for shows that cost, and only those.
    const [{ id }] = await (await fetch(server.origin + '/api/profiles')).json();
    const fid = new URL(page.url()).searchParams.get('sel');
    const want = (await (await fetch(`${server.origin}/api/profiles/${id}/functions/${fid}/lines`)).json()).rows;
    assert.ok(want.length > 1, `parse_stdlib has several lines: ${JSON.stringify(want)}`);
    const shown = new Set(rows.map((r) => r.n));
    const costs = await page.locator(find.sourceCost).evaluateAll((spans) => spans.map((s) => ({
      n: Number(s.closest('tr').dataset.line), self: Number(s.dataset.self), total: Number(s.dataset.total) })));
    assert.deepEqual(costs, want.filter((r) => shown.has(r.line)).map((r) => ({ n: r.line, self: r.self, total: r.total })));
    assert.ok(costs.length > 1);
    // The function's self is the sum of its lines' self (all of them are in the window here).
    const fn = (await (await fetch(`${server.origin}/api/profiles/${id}/functions?q=parse_stdlib`)).json()).rows
      .find((r) => r.name === 'parse_stdlib');
    assert.equal(costs.reduce((a, c) => a + c.self, 0), fn.self_weight);
    await page.locator(find.sourceCost).first().scrollIntoViewIfNeeded();
    await screenshot(page, 'source-tab');
    assert.deepEqual(page.problems, []);
  } finally {
    server.stop();
  }
});

test('without --source-root the source tab says how to turn it on', async () => {
  const server = await startServer([corpus(FOLDED)]);
  try {
    const page = await openSource(server, 'parse_stdlib');
    const off = page.locator(find.sourceOff);
    await off.waitFor({ timeout: 10000 });
    assert.match(await off.textContent(), /--source-root/);
    assert.equal(await page.locator(find.functionSource).count(), 0);
    // The 404 the page got is the expected answer, not a problem of the page.
    assert.deepEqual(page.problems.filter((p) => !/404/.test(p)), []);
  } finally {
    server.stop();
  }
});
