// The Jupyter magic's output (python/profview/_jupyter.py): the HTML report of
// `profview export --format html` inside the `<iframe srcdoc sandbox="allow-scripts ...">` that
// `%profview` displays, on a page served over http as a notebook is. The dashboard must work with
// that sandbox (an opaque origin: no storage, no same-origin access), its state in the frame's
// fragment, no request leaving the frame, and the frame unable to reach the notebook page.
// The iframe markup comes from the Python package itself (`iframe_html`), run with python3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, repo, screenshot } from './harness.mjs';
import * as find from './find.mjs';

const bin = process.env.PROFVIEW_BIN || path.join(repo, 'target/release/profview');
const python = process.env.PYTHON || 'python3';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The notebook output `%profview` displays for `input`: the report in the magic's iframe. */
function magicOutput(input) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'profview-jupyter-'));
  const out = path.join(dir, 'report.html');
  const r = spawnSync(bin, ['export', input, '--format', 'html', '-o', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const py = spawnSync(python, ['-c',
    'import sys; from profview._jupyter import iframe_html; '
    + 'sys.stdout.write(iframe_html(open(sys.argv[1], encoding="utf-8").read(), 700))', out],
  { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(repo, 'python') }, maxBuffer: 64 << 20 });
  assert.equal(py.status, 0, py.stderr);
  return py.stdout;
}

/** Serves `body` (a notebook-like page holding the output) on 127.0.0.1; resolves with its URL. */
async function host(body) {
  const page = `<!doctype html><html><head><title>notebook</title></head><body><div class="output">${body}</div></body></html>`;
  const srv = http.createServer((req, res) => {
    if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); } else { res.writeHead(204); res.end(); }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/`, close: () => srv.close() };
}

for (const [name, input] of [['pstats', 'examples/demo.prof'], ['recording', 'examples/demo_threads.pvrec']]) {
  test(`the %profview output shows a working dashboard (${name})`, async () => {
    const output = magicOutput(path.join(repo, input));
    assert.match(output, /^<iframe [^>]*sandbox="allow-scripts[^"]*"/);
    assert.doesNotMatch(output, /allow-same-origin/);
    const srv = await host(output);
    try {
      const page = await browser.newPage();
      const requests = [];
      page.on('request', (r) => { if (r.url() !== srv.url && !r.url().startsWith('data:')) requests.push(r.url()); });
      await page.goto(srv.url);
      // The iframe's testid is set by the Python package, not app/src, so it is not in find.mjs
      // (scripts/tidy.sh pairs find.mjs with the app's testids).
      const frame = page.frameLocator(find.tid('profview-report'));
      await frame.locator(find.reportBadge).waitFor({ timeout: 30000 });
      const f = page.frames().find((x) => x !== page.mainFrame());
      await f.waitForFunction((s) => {
        const el = document.querySelector(s);
        return el && Number(el.dataset.nodes || 0) > 0;
      }, find.icicle, { timeout: 30000 });
      await f.waitForFunction((s) => document.querySelectorAll(s).length > 5, find.functionRow, { timeout: 20000 });
      // Selecting a row fills the detail; the state goes into the frame's fragment.
      await frame.locator(find.functionRow).nth(1).click();
      await frame.locator(find.detailName).waitFor();
      await f.waitForFunction(() => location.hash.includes('sel='), null, { timeout: 10000 });
      // The sandbox holds: the report cannot reach the notebook page.
      const reach = await f.evaluate(() => { try { return window.parent.document.title; } catch { return 'blocked'; } });
      assert.equal(reach, 'blocked');
      await screenshot(page, `jupyter-${name}`);
      assert.deepEqual(requests, []);
      assert.deepEqual(page.problems, []);
    } finally {
      srv.close();
    }
  });
}
