// Upload, store and share: drag-and-drop and the file picker in Chromium, the profiles page
// (rename, delete, exports), links surviving a restart, kill -9 during an upload, the upload
// size limit, and the XSS probe file in every view and export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { startServer, launch, corpus, bad, folded200kDistinctStacks, screenshot, tempDataDir } from './harness.mjs';
import * as find from './find.mjs';

const PSTATS = corpus('pstats/cprofile_black_one_file.prof');
const FOLDED = corpus('folded/pyspy_cpu_raw_default.txt');
const XSS = bad('pstats_xss_names.prof');

let browser;
const servers = [];
before(async () => { browser = await launch(); });
after(async () => {
  await browser?.close();
  for (const s of servers) s.stop();
});

async function serve(files = [], args = []) {
  const s = await startServer(files, args);
  servers.push(s);
  return s;
}

/** Only the resource errors the test itself provoked (a refused upload) are not problems. */
function problems(page, allowed = []) {
  return page.problems.filter((p) => !allowed.some((re) => re.test(p)));
}

/** Drops files on the page the way a user does: dragenter, dragover, drop with a real DataTransfer. */
async function dropFiles(page, files, { checkOverlay = true } = {}) {
  const payload = files.map((f) => ({ name: f.name, b64: readFileSync(f.path).toString('base64') }));
  await page.evaluate((items) => {
    const dt = new DataTransfer();
    for (const { name, b64 } of items) {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], name, { type: 'application/octet-stream' }));
    }
    window.__dt = dt;
    document.body.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    document.body.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, payload);
  if (checkOverlay) await page.locator(find.dropZone).waitFor({ state: 'visible', timeout: 5000 });
  return async () => page.evaluate(() => {
    const target = document.querySelector('[data-testid="drop-zone"]') || document.body;
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__dt }));
  });
}

async function apiJson(origin, p, init) {
  const r = await fetch(origin + p, init);
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

async function uploadHttp(origin, file, name = path.basename(file)) {
  return apiJson(origin, `/api/profiles?name=${encodeURIComponent(name)}`, { method: 'POST', body: readFileSync(file) });
}

test('drag and drop of one file uploads it, shows progress, and opens its permanent page', async () => {
  const server = await serve();
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator('[data-testid="empty"]').waitFor();
  // Slow the upload down so the progress bar can be seen.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 400 * 1024 });
  const drop = await dropFiles(page, [{ name: 'black.prof', path: PSTATS }]);
  await screenshot(page, 'upload-drop-zone');
  await drop();
  await page.locator(find.dropZone).waitFor({ state: 'detached' });
  await page.locator(find.uploadProgress).waitFor({ state: 'visible', timeout: 5000 });
  await screenshot(page, 'upload-progress');
  await page.waitForURL(/\/p\/[0-9a-f]{32}$/, { timeout: 30000 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  const id = new URL(page.url()).pathname.split('/').pop();
  const list = await apiJson(server.origin, '/api/profiles');
  assert.deepEqual(list.body.map((p) => [p.id, p.name]), [[id, 'black.prof']]);
  assert.equal(list.body[0].size, readFileSync(PSTATS).length);
  await screenshot(page, 'upload-opened');
  assert.deepEqual(problems(page), []);
});

test('dropping several files lists them all; the profiles page shows size, date, totals; rename and delete', async () => {
  const server = await serve();
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator('[data-testid="empty"]').waitFor();
  const drop = await dropFiles(page, [{ name: 'black.prof', path: PSTATS }, { name: 'spy.txt', path: FOLDED }]);
  await drop();
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, find.profileRow, { timeout: 30000 });
  assert.equal(new URL(page.url()).pathname, '/');
  const names = await page.locator(find.profileName).allTextContents();
  assert.deepEqual(names, ['black.prof', 'spy.txt']);
  const totals = await page.locator(find.profileTotal).allTextContents();
  assert.match(totals[0], /^\d+(\.\d+)? (s|ms|µs)$/);
  assert.equal(totals[1], '713 samples');
  const sizes = await page.locator(find.profileSize).allTextContents();
  assert.match(sizes[0], /^\d+(\.\d)? (B|KB|MB)$/);
  assert.match((await page.locator(find.profileDate).first().textContent()), /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  await screenshot(page, 'profiles-page');

  // Rename the second row.
  const row = page.locator(find.profileRow).nth(1);
  await row.locator(find.rename).click();
  await row.locator(find.renameInput).fill('py-spy run');
  await row.locator(find.renameInput).press('Enter');
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((a) => a.textContent === 'py-spy run'), find.profileName);
  const list = await apiJson(server.origin, '/api/profiles');
  assert.equal(list.body[1].name, 'py-spy run');

  // Export links point at the export route and download.
  const href = await row.locator(find.exportLink('svg')).getAttribute('href');
  assert.equal(href, `/api/profiles/${list.body[1].id}/export?format=svg`);
  const svg = await (await fetch(server.origin + href)).text();
  assert.match(svg, /^<\?xml/);
  // The sampled profile also exports to speedscope and pprof, which import back with its total; the
  // pstats one offers neither (it has no stacks).
  const other = await serve([], ['--in-memory']); // reads the exports back without touching this list
  for (const fmt of ['speedscope', 'pprof']) {
    const link = await row.locator(find.exportLink(fmt)).getAttribute('href');
    const bytes = Buffer.from(await (await fetch(server.origin + link)).arrayBuffer());
    const back = await apiJson(other.origin, `/api/profiles?name=back.${fmt}`, { method: 'POST', body: bytes });
    assert.ok(back.status < 300, `${fmt}: ${JSON.stringify(back.body)}`);
    const again = await apiJson(other.origin, `/api/profiles/${back.body.id}`);
    assert.equal(again.body.total, list.body[1].total, `${fmt}: ${JSON.stringify(again.body)}`);
  }
  assert.equal(await page.locator(find.profileRow).first().locator(find.exportLink('speedscope')).count(), 0);

  // Delete the first (asks for confirmation in the page, not a dialog).
  const first = page.locator(find.profileRow).first();
  await first.locator(find.deleteButton).click();
  await first.locator(find.deleteConfirm).click();
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, find.profileRow);
  const after = await apiJson(server.origin, '/api/profiles');
  assert.deepEqual(after.body.map((p) => p.name), ['py-spy run']);
  assert.equal((await apiJson(server.origin, `/api/profiles/${list.body[0].id}`)).status, 404);
  assert.deepEqual(problems(page), []);
});

test('the file picker uploads too', async () => {
  const server = await serve();
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator(find.uploadInput).setInputFiles(FOLDED);
  await page.waitForURL(/\/p\/[0-9a-f]{32}$/, { timeout: 30000 });
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  assert.deepEqual(problems(page), []);
});

test('a bad file shows a clear error in the page naming the file and the problem; nothing is stored', async () => {
  const server = await serve();
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator('[data-testid="empty"]').waitFor();
  const drop = await dropFiles(page, [{ name: 'broken.prof', path: bad('pstats_truncated_at_100_of_2067.prof') }]);
  await drop();
  const err = page.locator(find.uploadError);
  await err.waitFor({ timeout: 20000 });
  const text = await err.textContent();
  assert.match(text, /broken\.prof: /);
  assert.match(text, /byte \d+/);
  assert.match(text, /HTTP 422/);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.deepEqual((await apiJson(server.origin, '/api/profiles')).body, []);
  await screenshot(page, 'upload-error');
  assert.deepEqual(problems(page, [/status of 422/]), []);
});

test('an oversized upload is refused with 413 and a message; the browser shows it', async () => {
  const server = await serve([], ['--max-upload-bytes', '4096']);
  const big = readFileSync(PSTATS);
  assert.ok(big.length > 4096);
  const r = await apiJson(server.origin, '/api/profiles?name=big.prof', { method: 'POST', body: big });
  assert.equal(r.status, 413);
  assert.match(r.body.error, /larger than the limit of 4096 bytes/);
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.locator('[data-testid="empty"]').waitFor();
  await (await dropFiles(page, [{ name: 'big.prof', path: PSTATS }]))();
  const err = page.locator(find.uploadError);
  await err.waitFor({ timeout: 20000 });
  assert.match(await err.textContent(), /big\.prof|limit/);
  assert.deepEqual((await apiJson(server.origin, '/api/profiles')).body, []);
  assert.deepEqual(problems(page, [/status of 413/, /ERR_CONNECTION|net::/]), []);
});

test('the XSS probe file runs no script in any view or export', async () => {
  const server = await serve();
  const page = await browser.newPage();
  await page.addInitScript(() => { window.alert = (m) => { window.__alerted = (window.__alerted || []).concat([String(m)]); }; });
  await page.goto(server.origin + '/');
  await page.locator('[data-testid="empty"]').waitFor();
  const drop = await dropFiles(page, [{ name: '<img src=x onerror=alert(7)>.prof', path: XSS }]);
  await drop();
  await page.waitForURL(/\/p\/[0-9a-f]{32}$/, { timeout: 30000 });
  const id = new URL(page.url()).pathname.split('/').pop();
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  const names = await page.locator(`${find.functionRow} ${find.cell('name')}`).allTextContents();
  assert.ok(names.includes('<img src=x onerror=alert(1)>'), names.join(' | '));
  // Every chart view and the detail panel, with a function selected.
  for (const v of ['icicle', 'flame']) {
    const tab = page.locator(find.view(v));
    if (await tab.count()) {
      await tab.first().click();
      // The chart is drawn once it reports its nodes.
      await page.waitForFunction((s) => Number(document.querySelector(s)?.dataset.nodes) > 0, find[v], { timeout: 20000 });
    }
  }
  const first = page.locator(find.functionRow).first();
  const fid = await first.getAttribute('data-id');
  await first.click();
  // Selected: in the URL, and the detail panel shows the function (its hostile name as text).
  await page.waitForURL(new RegExp(`[?&]sel=${fid}(&|$)`));
  await page.locator(find.detailName).filter({ hasText: '<img src=x onerror=alert(1)>' }).waitFor();
  await screenshot(page, 'xss-profile');
  await page.goto(server.origin + '/');
  await page.locator(find.profileRow).first().waitFor();
  assert.equal(await page.locator(find.profileName).first().textContent(), '<img src=x onerror=alert(7)>.prof');
  await screenshot(page, 'xss-profiles-page');
  assert.deepEqual(await page.evaluate(() => window.__alerted || []), []);
  // Exports: the SVG is served as a download; open it as a document anyway (without our CSP, as a
  // user opening the downloaded file would) so inferno's own script runs and any injected one would.
  const svgText = await (await fetch(`${server.origin}/api/profiles/${id}/export?format=svg`)).text();
  assert.equal(svgText.split('<script').length - 1, 1, 'only inferno\'s own script element');
  assert.ok(!svgText.includes('<img'), 'no markup from names');
  assert.ok(svgText.includes('&lt;img src=x onerror=alert(1)&gt;'));
  await page.route('**/downloaded.svg', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: svgText }));
  await page.goto(`${server.origin}/downloaded.svg`);
  // inferno's script has run: init() (the SVG's onload) set its globals, and the fluid layout it
  // defers to a timer has removed the fixed width.
  await page.waitForFunction(() => typeof window.total_samples === 'number'
    && !(window.fluiddrawing && document.documentElement.hasAttribute('width')));
  await screenshot(page, 'xss-export-svg');
  assert.deepEqual(await page.evaluate(() => window.__alerted || []), []);
  for (const fmt of ['json', 'folded']) {
    const r = await fetch(`${server.origin}/api/profiles/${id}/export?format=${fmt}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-disposition'), /^attachment; filename="[A-Za-z0-9._-]+"$/);
  }
  assert.deepEqual(problems(page), []);
});

test('a link survives a restart on the same data directory', async () => {
  const dataDir = tempDataDir();
  const first = await serve([PSTATS], ['--data-dir', dataDir]);
  const up = await uploadHttp(first.origin, FOLDED, 'spy.txt');
  assert.equal(up.status, 201);
  assert.deepEqual(Object.keys(up.body).sort(), ['id', 'url']);
  const ids = (await apiJson(first.origin, '/api/profiles')).body.map((p) => p.id);
  assert.equal(ids.length, 2);
  first.stop();
  await new Promise((r) => first.proc.on('exit', r));
  const second = await serve([], ['--data-dir', dataDir]);
  const again = (await apiJson(second.origin, '/api/profiles')).body.map((p) => p.id);
  assert.deepEqual(again, ids);
  const page = await browser.newPage();
  await page.goto(second.origin + up.body.url);
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  await screenshot(page, 'restart-link');
  assert.deepEqual(problems(page), []);
});

/** Polls `cond` (a look at the server's files, not a guess at how long it takes) until it holds. */
async function until(cond, what, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(5); // the poll's interval, not a guess at how long the server takes
  }
}

/** Sizes of the uploads the server is staging now, in `dataDir/tmp`. */
function stagedSizes(dataDir) {
  const dir = path.join(dataDir, 'tmp');
  const sizes = [];
  for (const name of readdirSync(dir).filter((n) => n.startsWith('upload-'))) {
    try { sizes.push(statSync(path.join(dir, name)).size); } catch { /* moved into the store meanwhile */ }
  }
  return sizes;
}

/** Starts a POST whose body is written only up to `sent` bytes; resolves once the server has
 *  staged those bytes (it is in the middle of the upload). */
async function slowUpload(origin, dataDir, bytes, sent) {
  const u = new URL(origin);
  const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/profiles?name=slow.folded',
    headers: { 'content-length': bytes.length } });
  req.on('error', () => {});
  req.write(bytes.subarray(0, sent));
  await until(() => stagedSizes(dataDir).includes(sent), `the server has staged ${sent} bytes`);
  return req;
}

test('kill -9 during uploads leaves the store consistent', async () => {
  const dataDir = tempDataDir();
  const first = await serve([], ['--data-dir', dataDir]);
  const a = await uploadHttp(first.origin, PSTATS, 'a.prof');
  assert.equal(a.status, 201);
  // 1. Killed while the body is half sent.
  const big = folded200kDistinctStacks();
  await slowUpload(first.origin, dataDir, big, Math.floor(big.length / 2));
  first.proc.kill('SIGKILL');
  await new Promise((r) => first.proc.on('exit', r));
  const second = await serve([], ['--data-dir', dataDir]);
  let list = (await apiJson(second.origin, '/api/profiles')).body;
  assert.deepEqual(list.map((p) => p.id), [a.body.id], 'no half-written entry is listed');
  assert.deepEqual(readdirSync(path.join(dataDir, 'blobs')), [a.body.id]);
  const fn = await apiJson(second.origin, `/api/profiles/${a.body.id}/functions?limit=3`);
  assert.equal(fn.status, 200);
  assert.equal(fn.body.rows.length, 3);
  // 2. Killed after the whole body was sent, while the server imports and stores it.
  const u = new URL(second.origin);
  const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/profiles?name=big.folded',
    headers: { 'content-length': big.length } });
  let answered = false;
  req.on('response', () => { answered = true; });
  req.on('error', () => {});
  req.end(big);
  // The server has the whole body: staged in full, already moved into the store, or answered.
  await until(() => answered || stagedSizes(dataDir).includes(big.length) || readdirSync(path.join(dataDir, 'blobs')).length > 1,
    'the server has received the whole body');
  second.proc.kill('SIGKILL');
  await new Promise((r) => second.proc.on('exit', r));
  const third = await serve([], ['--data-dir', dataDir]);
  list = (await apiJson(third.origin, '/api/profiles')).body;
  assert.ok(list.length === 1 || list.length === 2, JSON.stringify(list));
  assert.equal(list[0].id, a.body.id);
  // Whatever is listed is complete and works.
  for (const p of list) {
    const r = await apiJson(third.origin, `/api/profiles/${p.id}/functions?limit=1`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const blobs = readdirSync(path.join(dataDir, 'blobs'));
  for (const p of list) assert.ok(blobs.includes(p.id));
  rmSync(dataDir, { recursive: true, force: true });
});

test('security headers: CSP allows only our scripts and wasm; no traversal', async () => {
  const server = await serve([PSTATS]);
  const r = await fetch(server.origin + '/');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/=]+'/);
  // Every script directive (script-src, and script-src-elem/-attr if any): no 'unsafe-inline'.
  const scriptDirectives = csp.split(';').map((d) => d.trim().split(/\s+/)).filter(([name]) => /^script-src(-elem|-attr)?$/i.test(name));
  assert.ok(scriptDirectives.some(([name]) => name === 'script-src'), csp);
  for (const [name, ...sources] of scriptDirectives) {
    assert.ok(!sources.some((v) => v.toLowerCase() === "'unsafe-inline'"), `${name} allows 'unsafe-inline': ${csp}`);
  }
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  for (const p of ['/..%2f..%2fetc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/api/profiles/..%2f..%2fetc%2fpasswd/export?format=folded']) {
    const t = await (await fetch(server.origin + p)).text();
    assert.ok(!t.includes('root:'), p);
  }
  // The app runs under the policy with no violation (a violation is a console error).
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  assert.deepEqual(problems(page), []);
});
