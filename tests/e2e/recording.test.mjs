// A hybrid recording of the profview Python recorder (tests/fixtures/recordings): the table shows the
// sampled and the exact columns side by side, threads are listed by name, the idle filter uses the
// recorded flag, and the profiles page offers the pstats export of the cProfile part.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launch, fixturesDir, screenshot } from './harness.mjs';
import * as find from './find.mjs';

const FILE = path.join(fixturesDir, 'recordings/hybrid_threads.pvrec');
const rec = JSON.parse(readFileSync(FILE, 'utf8'));
let server, browser, id;

before(async () => {
  server = await startServer([FILE]);
  browser = await launch();
  const list = await (await fetch(`${server.origin}/api/profiles`)).json();
  id = list[0].id;
});
after(async () => {
  await browser?.close();
  server?.stop();
});

async function chartReady(page, sel) {
  await page.waitForFunction((s) => Number(document.querySelector(s)?.dataset.nodes || 0) > 0, sel, { timeout: 20000 });
}

/** The recording's truth, read independently: Σ wall of every stack, and of the idle ones. */
const wallTotal = rec.stacks.reduce((a, s) => a + s[6], 0);
const idleTotal = rec.stacks.filter((s) => s[3] === 1).reduce((a, s) => a + s[6], 0);
const fibIndex = rec.functions.findIndex((f) => f[2] === 'fib');
const fibStats = rec.cprofile.stats.find((s) => s[0] === fibIndex);

test('hybrid table: sampled and exact columns side by side, with the recording\'s numbers', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/p/${id}`);
  await chartReady(page, find.icicle);
  await page.locator(find.hybridBadge).waitFor();
  for (const col of ['self', 'total', 'ncalls', 'tottime', 'cumtime']) {
    assert.equal(await page.locator(find.header(col)).count() >= 1, true, col);
  }
  const fib = page.locator(find.functionRow, { hasText: 'fib' }).first();
  await fib.waitFor();
  // ncalls as pstats prints a recursive function: total/primitive.
  assert.equal((await fib.locator(find.cell('ncalls')).textContent()).trim(), `${fibStats[2]}/${fibStats[1]}`);
  assert.equal(Number(await fib.locator(find.cell('tottime')).getAttribute('data-value')), fibStats[3]);
  assert.ok(Number(await fib.locator(find.cell('total')).getAttribute('data-value')) > 0);
  // Selecting it shows both sets in the detail panel.
  await fib.click();
  await page.locator(find.detailName).filter({ hasText: 'fib' }).waitFor();
  const ncallsStat = page.locator(`${find.functionDetail} dd[data-stat="ncalls"]`);
  await ncallsStat.waitFor();
  assert.equal((await ncallsStat.textContent()).trim(), `${fibStats[2]}/${fibStats[1]}`);
  assert.equal(await page.locator(`${find.functionDetail} dd[data-stat="self"]`).count(), 1);
  await screenshot(page, 'recording-hybrid');
  assert.deepEqual(page.problems, []);
});

test('threads are listed by name, and drop idle removes exactly the samples recorded idle', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/p/${id}`);
  await chartReady(page, find.icicle);
  const options = await page.locator(`${find.threadSelect} option`).allTextContents();
  for (const [, , name] of rec.threads) assert.ok(options.some((o) => o.includes(name)), `${name} in ${options}`);
  const idleRow = page.locator(find.functionRow, { hasText: '<idle>' });
  await idleRow.first().waitFor();
  const rootTotal = async () => {
    const r = await fetch(`${server.origin}/api/profiles/${id}/tree?${new URL(page.url()).searchParams.has('tf') ? `tf=${encodeURIComponent(new URL(page.url()).searchParams.get('tf'))}&` : ''}max_nodes=1`);
    return (await r.json()).nodes[0].total;
  };
  assert.ok(Math.abs(await rootTotal() - wallTotal) < 1e-9);
  await page.locator(find.tfIdle).check();
  await page.waitForURL(/tf=idle/);
  await idleRow.first().waitFor({ state: 'detached' });
  assert.ok(Math.abs(await rootTotal() - (wallTotal - idleTotal)) < 1e-9);
  assert.deepEqual(page.problems, []);
});

test('the profiles page offers the pstats export, and it is the cProfile part', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/`);
  const link = page.locator(find.exportLink('pstats'));
  await link.waitFor();
  const r = await fetch(new URL(await link.getAttribute('href'), server.origin));
  assert.equal(r.status, 200);
  const bytes = new Uint8Array(await r.arrayBuffer());
  assert.equal(bytes[0], '{'.charCodeAt(0)); // a marshal dict
  assert.equal(bytes[bytes.length - 1], '0'.charCodeAt(0));
  assert.deepEqual(page.problems, []);
});
