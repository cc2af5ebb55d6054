// Foundation slice: a corpus file on disk → `profview serve` → the function table in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, corpus, truth, screenshot } from './harness.mjs';
import * as find from './find.mjs';

const REL = 'pstats/cprofile_black_one_file.prof';
let server, browser;

before(async () => {
  server = await startServer([corpus(REL)]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

async function firstRow(page) {
  const row = page.locator(find.functionRow).first();
  await row.waitFor({ timeout: 20000 });
  return {
    name: await row.locator(find.cell('name')).textContent(),
    file: await row.locator(find.cell('file')).textContent(),
    cumtime: Number(await row.locator(find.cell('cumtime')).getAttribute('data-value')),
    tottime: Number(await row.locator(find.cell('tottime')).getAttribute('data-value')),
    cumtimeText: (await row.locator(find.cell('cumtime')).textContent()).trim(),
  };
}

test('the table shows the right top function and its cumtime', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  const t = truth(REL);
  const top = t.top10_cumulative[0];
  const row = await firstRow(page);
  assert.equal(row.name, top.key[2]);
  assert.equal(row.cumtime, top.ct);
  // Readable to three significant digits (tests/e2e/numbers.test.mjs checks the rule).
  const [, num, unit] = row.cumtimeText.match(/^(\d+(?:\.\d+)?) (s|ms)$/);
  const shown = Number(num) * (unit === 's' ? 1 : 1e-3);
  assert.ok(Math.abs(shown - top.ct) <= 0.005 * top.ct, `${top.ct} shown as ${row.cumtimeText}`);
  const count = await page.locator(find.rowCount).textContent();
  assert.match(count, new RegExp(`^${t.function_count} functions`));
  await screenshot(page, 'slice-table');
  assert.deepEqual(page.problems, []);
});

test('sorting by tottime puts the largest own time first and lands in the URL', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.locator(find.functionRow).first().waitFor();
  await page.locator(find.header('tottime')).click();
  await page.waitForURL(/sort=tottime/);
  const t = truth(REL);
  const maxTt = Math.max(...t.functions.map((f) => f[3]));
  await page.waitForFunction(([sel, want]) => {
    const c = document.querySelector(sel);
    return c && Number(c.getAttribute('data-value')) === want;
  }, [`${find.functionRow} ${find.cell('tottime')}`, maxTt]);
  // A reload restores the sort from the URL.
  await page.reload();
  const row = await firstRow(page);
  assert.equal(row.tottime, maxTt);
  assert.deepEqual(page.problems, []);
});

test('search keeps only matching rows', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.locator(find.functionRow).first().waitFor();
  await page.locator(find.search).fill('tokenize');
  await page.locator(find.search).press('Enter');
  await page.waitForURL(/q=tokenize/);
  await page.waitForFunction((sel) => {
    const rows = [...document.querySelectorAll(sel)];
    return rows.length > 0 && rows.every((r) => r.textContent.includes('tokenize'));
  }, find.functionRow);
  await screenshot(page, 'slice-search');
  assert.deepEqual(page.problems, []);
});

test('an unknown profile id shows a clear error in the page', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/p/does-not-exist`);
  const err = page.locator(find.errorMsg);
  await err.waitFor();
  assert.match(await err.textContent(), /no profile with id/);
});
