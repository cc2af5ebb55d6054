// Shared fixtures for the browser tests: start the release binary, launch Debian's Chromium,
// and collect console errors. Selectors live in find.mjs.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
// Fixtures live in the repository (tests/fixtures/MANIFEST.md says where each came from).
export const fixturesDir = path.join(repo, 'tests/fixtures');
export const corpusDir = path.join(fixturesDir, 'corpus');
export const outDir = path.join(here, 'out');
mkdirSync(outDir, { recursive: true });

export function corpus(rel) { return path.join(corpusDir, rel); }
export function truth(rel) { return JSON.parse(readFileSync(corpus(rel) + '.truth.json', 'utf8')); }
/** A malformed or hostile input copied into tests/fixtures/bad. */
export function bad(name) { return path.join(fixturesDir, 'bad', name); }

/** `folded_200k_distinct_stacks.folded` of the hostile set, generated because it is too big to commit:
 *  200,000 distinct stacks `root;mod{i%97};fn{i} {i%13+1}`, byte for byte the reference file (4,329,806 bytes).
 *  The Rust tests generate the same file (crates/import/tests/common/mod.rs). */
export function folded200kDistinctStacks() {
  const lines = [];
  for (let i = 0; i < 200000; i++) lines.push(`root;mod${i % 97};fn${i} ${(i % 13) + 1}\n`);
  const b = Buffer.from(lines.join(''), 'utf8');
  if (b.length !== 4329806) throw new Error(`generated ${b.length} bytes, expected 4329806`);
  return b;
}

/** A fresh empty directory for a server's profile store. */
export function tempDataDir() { return mkdtempSync(path.join(os.tmpdir(), 'profview-e2e-')); }

/** Starts `profview serve FILES --port 0 --no-browser` on 127.0.0.1 and resolves with its URL.
 *  Each server gets its own fresh `--data-dir` unless extraArgs names one (or `--in-memory`). */
export async function startServer(files, extraArgs = []) {
  const bin = process.env.PROFVIEW_BIN || path.join(repo, 'target/release/profview');
  const ownsStore = extraArgs.some((a) => a === '--data-dir' || a === '--in-memory');
  const given = extraArgs.indexOf('--data-dir');
  const dataDir = given >= 0 ? extraArgs[given + 1] : ownsStore ? null : tempDataDir();
  const storeArgs = ownsStore ? [] : ['--data-dir', dataDir];
  const proc = spawn(bin, ['serve', ...files, '--host', '127.0.0.1', '--port', '0', '--no-browser', ...storeArgs, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving at (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const origin = new URL(url).origin;
  return { url, origin, proc, dataDir, stop: () => proc.kill('SIGTERM') };
}

/** Launches headless Chromium; every page records console errors, page errors and dialogs. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    // Playwright gives every launch a fresh temporary profile directory.
  });
  const newPage = async (opts = {}) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
    const page = await context.newPage();
    page.problems = [];
    page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
    page.on('dialog', async (d) => { page.problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
    return page;
  };
  return { browser, newPage, close: () => browser.close() };
}

export async function screenshot(page, name) {
  const file = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
