// Functions, not lines (issue 14, item 3): a py-spy profile's function seen at several lines is
// one row; its detail lists the lines, whose selfs add up to the row's self; "by line" brings
// one row per line back, and a reload keeps it. Expected values come from the truth file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer, launch, corpus, truth, screenshot, repo } from './harness.mjs';
import * as find from './find.mjs';

const PYSPY = 'folded/pyspy_cpu_raw_default.txt';
let server, browser, id;

before(async () => {
  server = await startServer([corpus(PYSPY)]);
  browser = await launch();
  const list = await (await fetch(`${server.origin}/api/profiles`)).json();
  id = list[0].id;
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** The truth's frames `name (file:line)` grouped by (name, file): [{name, file, lines: [[line, self]]}]. */
function functionsOfTruth() {
  const groups = new Map();
  for (const [frame, self] of truth(PYSPY).frames) {
    const m = frame.match(/^(.*) \((.*):(\d+)\)$/);
    if (!m) continue;
    const key = `${m[1]}\u0000${m[2]}`;
    if (!groups.has(key)) groups.set(key, { name: m[1], file: m[2], lines: [] });
    groups.get(key).lines.push([Number(m[3]), self]);
  }
  return [...groups.values()];
}

/** Rows of the table whose name cell is exactly `name`, once the table shows `n` of them. */
async function rowsNamed(page, name, n) {
  await page.waitForFunction(([s, nm, k]) => [...document.querySelectorAll(s)]
    .filter((r) => r.querySelector('td[data-col="name"]')?.textContent === nm).length === k,
  [find.functionRow, name, n], { timeout: 20000 });
  return page.locator(find.functionRow).filter({ has: page.locator(`td[data-col="name"][title="${name}"]`) });
}

/** The function with the most lines whose name is its own (no other file has it). */
function functionWithLines() {
  const all = functionsOfTruth();
  return all.filter((g) => g.lines.length > 1 && all.filter((h) => h.name === g.name).length === 1)
    .sort((a, b) => b.lines.length - a.lines.length)[0];
}

test('a function seen at several lines is one row, its lines add up, and by line brings them back', async () => {
  const f = functionWithLines();
  assert.ok(f, 'the fixture has a function seen at several lines');
  const page = await browser.newPage();
  await page.goto(`${server.origin}/p/${id}?q=${encodeURIComponent(f.name)}`);
  const row = await rowsNamed(page, f.name, 1);
  const selfSum = f.lines.reduce((a, [, s]) => a + s, 0);
  assert.equal(Number(await row.locator(find.cell('self')).getAttribute('data-value')), selfSum);

  // Its detail lists the lines, sorted, with selfs adding up to the row's self.
  await row.click();
  await page.waitForURL(/sel=\d+/);
  await page.waitForFunction(([s, k]) => document.querySelectorAll(s).length === k,
    [`${find.functionLines} ${find.lineRow}`, f.lines.length], { timeout: 20000 });
  const shown = await page.locator(`${find.functionLines} ${find.lineRow}`).evaluateAll((rows) => rows.map((r) => [
    Number(r.dataset.line), Number(r.querySelectorAll('td')[1].dataset.value),
  ]));
  const want = [...f.lines].sort((a, b) => a[0] - b[0]);
  assert.deepEqual(shown, want);
  assert.equal(shown.reduce((a, [, s]) => a + s, 0), selfSum);
  await screenshot(page, 'lines-detail');

  // By line: one row per line; the selection (a function id of the other table) is dropped.
  const toggle = page.locator(find.byLine);
  assert.equal(await toggle.isChecked(), false);
  await toggle.check();
  await page.waitForURL((u) => u.searchParams.get('by') === 'line' && !u.searchParams.has('sel'));
  await rowsNamed(page, f.name, f.lines.length);
  await screenshot(page, 'lines-by-line');

  // A reload keeps it.
  await page.reload();
  await rowsNamed(page, f.name, f.lines.length);
  await page.waitForFunction((s) => document.querySelector(s)?.checked === true, find.byLine);

  // And unticking groups again.
  await page.locator(find.byLine).uncheck();
  await page.waitForURL((u) => !u.searchParams.has('by'));
  await rowsNamed(page, f.name, 1);
  assert.deepEqual(page.problems, []);
});

test('the HTML report groups lines too, and its by line toggle lives in the fragment', async () => {
  const f = functionWithLines();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'profview-lines-'));
  const out = path.join(dir, 'report.html');
  const bin = process.env.PROFVIEW_BIN || path.join(repo, 'target/release/profview');
  const r = spawnSync(bin, ['export', corpus(PYSPY), '--format', 'html', '-o', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const page = await browser.newPage();
  await page.goto(`${pathToFileURL(out).href}#q=${encodeURIComponent(f.name)}`);
  const row = await rowsNamed(page, f.name, 1);
  await row.click();
  await page.waitForFunction(([s, k]) => document.querySelectorAll(s).length === k,
    [`${find.functionLines} ${find.lineRow}`, f.lines.length], { timeout: 20000 });
  await page.locator(find.byLine).check();
  await page.waitForURL(/#.*by=line/);
  await rowsNamed(page, f.name, f.lines.length);
  assert.deepEqual(page.problems, []);
});
