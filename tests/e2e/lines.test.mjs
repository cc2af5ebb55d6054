// Functions, not lines (issue 14, item 3): a py-spy profile's function seen at several lines is
// one row; its detail lists the lines, whose selfs add up to the row's self; "by line" brings
// one row per line back, and a reload keeps it. Expected values come from the truth file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, corpus, truth, screenshot } from './harness.mjs';
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

test('a function seen at several lines is one row, its lines add up, and by line brings them back', async () => {
  // The function with the most lines whose name is its own (no other file has it).
  const all = functionsOfTruth();
  const f = all.filter((g) => g.lines.length > 1 && all.filter((h) => h.name === g.name).length === 1)
    .sort((a, b) => b.lines.length - a.lines.length)[0];
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
