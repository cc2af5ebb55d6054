// A server with --token-file: a write the server refuses makes the page ask for the token once
// (a prompt); the upload is sent again with it and succeeds; the token is kept in this tab's
// sessionStorage only and later writes (a delete) use it without asking again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, corpus } from './harness.mjs';
import * as find from './find.mjs';

const FOLDED = corpus('folded/pyspy_cpu_raw_default.txt');
const TOKEN = 'team-token-e2e-1';

let browser;
let server;
before(async () => {
  browser = await launch();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'profview-e2e-token-'));
  const tokens = path.join(dir, 'tokens');
  writeFileSync(tokens, `# e2e\n${TOKEN}\n`);
  server = await startServer([], ['--token-file', tokens]);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test('a refused write asks for the token once, retries with it, and keeps it in the session only', async () => {
  // Writes without a token are refused by the server itself.
  const refused = await fetch(server.origin + '/api/profiles?name=x.txt', { method: 'POST', body: 'main;a 1\n' });
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate'), /^Bearer/);

  const context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const prompts = [];
  page.on('dialog', async (d) => {
    prompts.push({ type: d.type(), message: d.message() });
    await d.accept(TOKEN);
  });
  await page.goto(server.origin + '/');
  await page.locator(find.empty).waitFor();

  await page.locator(find.uploadInput).setInputFiles(FOLDED);
  await page.waitForURL(/\/p\/[0-9a-f]{32}$/, { timeout: 30000 });
  await page.locator(find.functionRow).first().waitFor({ timeout: 20000 });
  assert.equal(prompts.length, 1, JSON.stringify(prompts));
  assert.equal(prompts[0].type, 'prompt');
  assert.match(prompts[0].message, /token/i);
  const id = new URL(page.url()).pathname.split('/').pop();
  const listed = await (await fetch(server.origin + '/api/profiles')).json();
  assert.deepEqual(listed.map((p) => p.id), [id]);

  // Kept for the session, nowhere else.
  const kept = await page.evaluate(() => ({
    session: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
    local: Object.keys(localStorage).map((k) => localStorage.getItem(k)),
    cookie: document.cookie,
  }));
  assert.deepEqual(kept.session, [TOKEN]);
  assert.deepEqual(kept.local, []);
  assert.equal(kept.cookie, '');

  // A delete now uses the kept token: no second prompt.
  await page.goto(server.origin + '/');
  const row = page.locator(find.profileRow).first();
  await row.locator(find.deleteButton).click();
  await row.locator(find.deleteConfirm).click();
  await page.locator(find.empty).waitFor({ timeout: 20000 });
  assert.equal(prompts.length, 1, JSON.stringify(prompts));
  assert.equal((await fetch(server.origin + `/api/profiles/${id}`)).status, 404);

  // Another session starts without it.
  const other = await browser.browser.newContext();
  const page2 = await other.newPage();
  await page2.goto(server.origin + '/');
  assert.equal(await page2.evaluate(() => sessionStorage.length), 0);
  await other.close();
  await context.close();
});
