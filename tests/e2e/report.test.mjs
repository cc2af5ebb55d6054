// The self-contained HTML report (`profview export FILE --format html`) opened from file:// with
// no server: no request leaves the page, the table, detail, icicle and the other views work, the
// state lives in the fragment, and script-bearing names run no script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, repo, bad, screenshot, startServer } from './harness.mjs';
import * as find from './find.mjs';

const bin = process.env.PROFVIEW_BIN || path.join(repo, 'target/release/profview');
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Writes the report of `input` into a fresh directory and returns its file:// URL. */
function exportReport(input) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'profview-report-'));
  const out = path.join(dir, 'report.html');
  const r = spawnSync(bin, ['export', input, '--format', 'html', '-o', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(statSync(out).size > 0);
  return pathToFileURL(out).href;
}

/** A page that records every request other than the report document itself. */
async function openReport(url, init) {
  const page = await browser.newPage();
  page.requests = [];
  page.on('request', (r) => {
    const u = r.url();
    if (u.split('#')[0] !== url.split('#')[0] && !u.startsWith('data:')) page.requests.push(u);
  });
  page.on('websocket', (w) => page.requests.push(w.url()));
  if (init) await page.addInitScript(init);
  await page.goto(url);
  return page;
}

async function chartReady(page, sel) {
  await page.waitForFunction((s) => {
    const el = document.querySelector(s);
    return el && Number(el.dataset.nodes || 0) > 0;
  }, sel, { timeout: 20000 });
}

test('the report opens from file:// with no request: table, detail, icicle and every view work', async () => {
  const url = exportReport(path.join(repo, 'examples/demo.prof'));
  const page = await openReport(url);
  await page.locator(find.reportBadge).waitFor();
  await chartReady(page, find.icicle);
  await page.waitForFunction((s) => document.querySelectorAll(s).length > 5, find.functionRow, { timeout: 20000 });
  assert.equal(await page.locator(find.profileName).first().textContent(), 'demo.prof');
  // Selecting a row fills the detail and goes into the fragment.
  const row = page.locator(find.functionRow).nth(1);
  const fid = await row.getAttribute('data-id');
  const name = await row.locator(find.cell('name')).textContent();
  await row.click();
  await page.waitForURL(new RegExp(`#.*sel=${fid}(&|$)`));
  await page.locator(find.detailName).filter({ hasText: name }).waitFor();
  await page.waitForFunction((s) => Number(document.querySelector(s).dataset.selectedNodes) > 0, find.icicle);
  // Search filters the table.
  await page.locator(find.search).fill(name);
  await page.locator(find.search).press('Enter');
  await page.waitForURL(/#.*q=/);
  // The other views draw.
  for (const v of ['flame', 'bubble-graph', 'circle-pack', 'squaremap']) {
    await page.locator(find.view(v)).click();
    await page.waitForURL(new RegExp(`#.*view=${v}`));
    const sel = { flame: find.flame, 'bubble-graph': find.bubbleGraph, 'circle-pack': find.circlePack, squaremap: find.squaremap }[v];
    await chartReady(page, sel);
  }
  // Back walks the fragment history.
  await page.goBack();
  await page.waitForURL(/#.*view=circle-pack/);
  await chartReady(page, find.circlePack);
  // A reload restores the state from the fragment.
  await page.reload();
  await chartReady(page, find.circlePack);
  await page.locator(find.detailName).filter({ hasText: name }).waitFor();
  await screenshot(page, 'report-demo');
  assert.deepEqual(page.requests, []);
  assert.deepEqual(page.problems, []);
});

test('a report of script-bearing names runs no script and shows the names as text', async () => {
  const url = exportReport(bad('pstats_xss_names.prof'));
  const page = await openReport(url, () => {
    window.alert = (m) => { window.__alerted = (window.__alerted || []).concat([String(m)]); };
  });
  await chartReady(page, find.icicle);
  const row = page.locator(find.functionRow, { hasText: '<img src=x onerror=alert(1)>' }).first();
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.locator(find.detailName).filter({ hasText: '<img src=x onerror=alert(1)>' }).waitFor();
  await screenshot(page, 'report-xss');
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(await page.evaluate(() => window.__alerted || []), []);
  assert.deepEqual(page.requests, []);
  assert.deepEqual(page.problems, []);
});

test('the profiles page offers the report; the downloaded file works from disk', async () => {
  const server = await startServer([path.join(repo, 'examples/demo.prof')]);
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const href = await page.locator(find.exportLink('html')).first().getAttribute('href');
    assert.match(href, /format=html/);
    const resp = await fetch(new URL(href, server.origin));
    assert.equal(resp.status, 200);
    assert.match(resp.headers.get('content-type'), /^text\/html/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'profview-report-'));
    const file = path.join(dir, 'downloaded.html');
    writeFileSync(file, Buffer.from(await resp.arrayBuffer()));
    const report = await openReport(pathToFileURL(file).href);
    await chartReady(report, find.icicle);
    await report.locator(find.functionRow).first().waitFor();
    assert.equal(await report.locator(find.profileName).first().textContent(), 'demo.prof');
    assert.deepEqual(report.requests, []);
    assert.deepEqual(report.problems, []);
  } finally {
    server.stop();
  }
});
