#!/usr/bin/env node
// The HTML report's size and time to first view (BENCHMARKS.md, "HTML report").
// Usage: node scripts/bench-report.mjs PROFILE [PROFILE...]   (PROFVIEW_BIN, CHROMIUM as in the e2e tests)
// For each profile: export --format html, then open the file in headless Chromium 5 times and take
// the median time from navigation start until the table shows rows and the icicle has drawn.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.PROFVIEW_BIN || path.join(repo, 'target/release/profview');
const files = process.argv.slice(2);
if (!files.length) { console.error('usage: bench-report.mjs PROFILE...'); process.exit(2); }
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu'] });
for (const f of files) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'profview-bench-report-'));
  const out = path.join(dir, 'report.html');
  const t0 = performance.now();
  const r = spawnSync(bin, ['export', f, '--format', 'html', '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
  const exportMs = performance.now() - t0;
  const raw = readFileSync(f);
  const gz = raw[0] === 0x1f && raw[1] === 0x8b ? raw : zlib.gzipSync(raw, { level: 9 });
  const profileB64 = Math.ceil(gz.length / 3) * 4;
  const size = statSync(out).size;
  const times = [];
  for (let i = 0; i < 5; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(pathToFileURL(out).href, { waitUntil: 'commit' });
    await page.waitForFunction(() => {
      const ice = document.querySelector('[data-testid="icicle"]');
      return ice && Number(ice.dataset.nodes || 0) > 0 && document.querySelector('[data-testid="function-row"]');
    }, null, { timeout: 60000, polling: 10 });
    times.push(await page.evaluate(() => {
      const at = (n) => performance.getEntriesByName(n)[0]?.startTime ?? NaN;
      const nav = performance.getEntriesByType('navigation')[0];
      // [first view, document parsed, WASM bytes ready, app started (profile imported and indexed)]
      return [performance.now(), nav?.domInteractive ?? NaN, at('profview-wasm-bytes'), at('profview-started')];
    }));
    await context.close();
  }
  times.sort((a, b) => a[0] - b[0]);
  const m = times[2].map((t) => t.toFixed(0));
  const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`${path.basename(f)}: file ${kb(raw.length)}, report ${kb(size)} (profile gzip+base64 ${kb(profileB64)}, ` +
    `overhead ${kb(size - profileB64)}), export ${exportMs.toFixed(0)} ms, first view median ${m[0]} ms ` +
    `(min ${times[0][0].toFixed(0)}, max ${times[4][0].toFixed(0)}; in the median run: parsed ${m[1]}, ` +
    `WASM bytes ${m[2]}, app started ${m[3]} ms)`);
}
await browser.close();
