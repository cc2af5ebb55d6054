// Views I and II on real corpus files: table ↔ charts linked selection, search, zoom and
// breadcrumb, URL round trips, threads, and a screenshot of every view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, corpus, truth, screenshot } from './harness.mjs';
import * as find from './find.mjs';

const PSTATS = 'pstats/cprofile_recursion.prof';
const THREADS = 'folded/pyspy_threads_raw_threads_idle_nolineno.txt';
let server, browser, ids;

before(async () => {
  server = await startServer([corpus(PSTATS), corpus(THREADS)]);
  browser = await launch();
  const list = await (await fetch(`${server.origin}/api/profiles`)).json();
  ids = Object.fromEntries(list.map((p) => [p.name, p.id]));
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const pageUrl = (rel, qs = '') => `${server.origin}/p/${ids[rel.split('/').pop()]}${qs}`;

async function chartReady(page, sel) {
  await page.waitForFunction((s) => {
    const el = document.querySelector(s);
    return el && Number(el.dataset.nodes || 0) > 0;
  }, sel, { timeout: 20000 });
  return page.locator(sel);
}

test('icicle draws the tree and clicking a table row selects its node in the icicle', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl(PSTATS));
  const ice = await chartReady(page, find.icicle);
  await page.locator(find.estimateBanner).waitFor();
  // The row of `fib` (recursive): clicking it selects it everywhere.
  const row = page.locator(find.functionRow, { hasText: 'fib' }).first();
  const fid = await row.getAttribute('data-id');
  await row.click();
  await page.waitForURL(new RegExp(`sel=${fid}`));
  await page.waitForFunction((s) => Number(document.querySelector(s).dataset.selectedNodes) > 0, find.icicle);
  assert.ok(Number(await ice.getAttribute('data-selected-nodes')) >= 1);
  await page.locator(find.detailName).filter({ hasText: 'fib' }).waitFor();
  assert.ok(await page.locator(`${find.callers} ${find.edgeRow}`).count() >= 1);
  await screenshot(page, 'view-icicle');
  assert.deepEqual(page.problems, []);
});

/** The number the table's row count shows ("N functions"), once it shows one. */
async function shownCount(page) {
  const count = page.locator(find.rowCount);
  await page.waitForFunction((s) => /\d+ functions/.test(document.querySelector(s)?.textContent || ''), find.rowCount);
  return Number((await count.textContent()).match(/(\d+) functions/)[1]);
}

/** Every table row as [name, full file] (the file cell's title holds the unshortened path). */
async function tableRows(page) {
  return page.locator(find.functionRow).evaluateAll((rows) => rows.map((r) => [
    r.querySelector('td[data-col="name"]').textContent,
    r.querySelector('td[data-col="file"]')?.getAttribute('title') || '',
  ]));
}

test('search highlights matches in the chart and filters the table', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl(PSTATS));
  await chartReady(page, find.icicle);
  const all = await shownCount(page);
  assert.equal(all, truth(PSTATS).function_count);
  await page.waitForFunction(([s, n]) => document.querySelectorAll(s).length === n, [find.functionRow, all]);
  // Searching from the box: the query goes into the URL, the table shrinks to the matches.
  await page.locator(find.search).fill('fib');
  await page.locator(find.search).press('Enter');
  await page.waitForURL(/[?&]q=fib(&|$)/);
  await page.waitForFunction((s) => Number(document.querySelector(s).dataset.matches) > 0, find.icicle);
  // The filtered page has come back once the count moves off the unfiltered one (if it never
  // does, the assertions below say what the table still shows).
  await page.waitForFunction(([s, n]) => !new RegExp(`^${n} functions$`).test(document.querySelector(s).textContent.trim()),
    [find.rowCount, all], { timeout: 10000 }).catch(() => {});
  const shown = await shownCount(page);
  const rows = await tableRows(page);
  assert.ok(shown < all, `the row count still says ${shown} of ${all} functions`);
  assert.equal(rows.length, shown, 'every matching row is in the table');
  // The name or the file of every row contains the query (the filter matches either).
  const misses = rows.filter(([name, file]) => !name.includes('fib') && !file.includes('fib'));
  assert.deepEqual(misses, [], 'rows that do not match "fib"');
  assert.ok(rows.some(([name]) => name === 'fib'));
  // The same URL opened afresh shows the same filtered table.
  const fresh = await browser.newPage();
  await fresh.goto(page.url());
  await chartReady(fresh, find.icicle);
  assert.equal(await shownCount(fresh), shown);
  assert.deepEqual(await tableRows(fresh), rows);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(fresh.problems, []);
});

test('zoom by click, breadcrumb back, Esc zooms out, and a copied URL restores selection and zoom', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl(PSTATS));
  const ice = await chartReady(page, find.icicle);
  const box = await ice.boundingBox();
  // Row 1 (below the synthetic root) at the horizontal centre: the widest child.
  await page.mouse.click(box.x + box.width / 2, box.y + 18 + 9);
  await page.waitForURL(/root=/);
  await page.waitForFunction((s) => document.querySelector(s).dataset.root !== '', find.icicle);
  const zoomedRoot = await ice.getAttribute('data-root');
  assert.equal(new URL(page.url()).searchParams.get('root'), zoomedRoot);
  const crumbs = page.locator(`${find.breadcrumb} a`);
  await page.waitForFunction((s) => document.querySelectorAll(`${s} a`).length >= 2, find.breadcrumb);
  const url = page.url();
  assert.match(url, /sel=/);
  // A fresh page from the copied URL shows the same selection and zoom.
  const fresh = await browser.newPage();
  await fresh.goto(url);
  const ice2 = await chartReady(fresh, find.icicle);
  await fresh.waitForFunction(([s, r]) => document.querySelector(s).dataset.root === r, [find.icicle, zoomedRoot]);
  assert.equal(await ice2.getAttribute('data-root'), zoomedRoot);
  const sel = new URL(url).searchParams.get('sel');
  await fresh.locator(`${find.functionRow}.selected[data-id="${sel}"]`).waitFor();
  await screenshot(fresh, 'view-icicle-zoomed');
  // Breadcrumb back to the top.
  await crumbs.first().click();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('root'));
  await page.waitForFunction((s) => document.querySelector(s).dataset.root === '' && document.querySelector(s).dataset.rootName === 'all', find.icicle);
  // Zoom again, then Esc zooms out.
  await page.mouse.click(box.x + box.width / 2, box.y + 18 + 9);
  await page.waitForURL(/root=/);
  await page.locator('body').press('Escape');
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('root'));
  // Back walks through the history.
  await page.goBack();
  await page.waitForURL(/root=/);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(fresh.problems, []);
});

test('flame view shows the inverted tree', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl(PSTATS));
  await chartReady(page, find.icicle);
  await page.locator(find.view('flame')).click();
  await page.waitForURL(/view=flame/);
  const fl = await chartReady(page, find.flame);
  assert.equal(await fl.getAttribute('data-mode'), 'inverted');
  await screenshot(page, 'view-flame');
  assert.deepEqual(page.problems, []);
});

test('bubble graph: one circle per function with own cost, click selects, URL round trip', async () => {
  const t = truth(PSTATS);
  const withCost = t.functions.filter((f) => f[3] > 0).length;
  const page = await browser.newPage();
  await page.goto(pageUrl(PSTATS));
  await page.locator(find.view('bubble-graph')).click();
  await page.waitForURL(/view=bubble-graph/);
  const bg = await chartReady(page, find.bubbleGraph);
  assert.equal(Number(await bg.getAttribute('data-nodes')), Math.min(withCost, 150));
  await screenshot(page, 'view-bubble-graph');
  // A reload restores the view.
  await page.reload();
  await chartReady(page, find.bubbleGraph);
  assert.deepEqual(page.problems, []);
});

for (const [name, sel] of [['circle-pack', find.circlePack], ['squaremap', find.squaremap]]) {
  test(`${name}: renders the tree slice, click selects and drills down, URL round trip`, async () => {
    const page = await browser.newPage();
    await page.goto(pageUrl(THREADS));
    await chartReady(page, find.icicle);
    await page.locator(find.view(name)).click();
    await page.waitForURL(new RegExp(`view=${name}`));
    const el = await chartReady(page, sel);
    const id = ids[THREADS.split('/').pop()];
    const slice = await (await fetch(`${server.origin}/api/profiles/${id}/tree?mode=top-down&min_frac=0.002&max_nodes=2500`)).json();
    const want = slice.nodes.filter((n) => n.total > 0).length;
    await page.waitForFunction(([s, n]) => Number(document.querySelector(s).dataset.nodes) === n, [sel, want], { timeout: 10000 })
      .catch(() => {});
    assert.equal(Number(await el.getAttribute('data-nodes')), want);
    const box = await el.boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForURL(/sel=/);
    await screenshot(page, `view-${name}`);
    const url = page.url();
    const fresh = await browser.newPage();
    await fresh.goto(url);
    await chartReady(fresh, sel);
    assert.equal(new URL(fresh.url()).searchParams.get('view'), name);
    assert.deepEqual(page.problems, []);
    assert.deepEqual(fresh.problems, []);
  });
}

test('thread selector lists the threads and selecting one narrows the table', async () => {
  const t = truth(THREADS);
  const page = await browser.newPage();
  await page.goto(pageUrl(THREADS));
  await chartReady(page, find.icicle);
  const select = page.locator(find.threadSelect);
  await select.waitFor();
  const options = await select.locator('option').count();
  assert.equal(options, new Set(t.threads.map((x) => x.id)).size + 1);
  const before = await page.locator(find.rowCount).textContent();
  await select.selectOption({ index: 1 });
  await page.waitForURL(/thread=0/);
  await page.waitForFunction(([s, b]) => document.querySelector(s)?.textContent !== b, [find.rowCount, before]);
  await screenshot(page, 'view-thread');
  assert.deepEqual(page.problems, []);
});

test('transforms: focus from the detail panel, a removable chip, the recursion toggle; all in the URL', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl(THREADS));
  await chartReady(page, find.icicle);
  const row = page.locator(find.functionRow, { hasText: 'io_task' }).first();
  const fid = await row.getAttribute('data-id');
  await row.click();
  await page.locator(find.tfFocus).click();
  await page.waitForURL(new RegExp(`tf=f%3A${fid}|tf=f:${fid}`));
  const chip = page.locator(find.tfChip);
  await chip.filter({ hasText: 'io_task' }).waitFor();
  // Focused on io_task: the whole tree is io_task's stacks, so the table's top total is io_task's.
  await page.waitForFunction((s) => document.querySelector(s)?.dataset.rootName === 'all', find.icicle);
  const top = await page.locator(`${find.functionRow} td[data-col="name"]`).first().textContent();
  assert.equal(top, 'io_task');
  await screenshot(page, 'view-transform-focus');
  await page.locator(find.tfRemove).first().click();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('tf'));
  await page.locator(find.tfRec).check();
  await page.waitForURL(/tf=rec/);
  await chartReady(page, find.icicle);
  assert.deepEqual(page.problems, []);
});

test('a function selected by a link is scrolled into view in the virtualized table', async () => {
  const rel = 'pstats/cprofile_sympy_big.prof';
  const extra = await startServer([corpus(rel)]);
  try {
    const id = new URL(extra.url).pathname.split('/').pop();
    const far = await (await fetch(`${extra.origin}/api/profiles/${id}/functions?sort=cumtime&order=desc&offset=3000&limit=1`)).json();
    const fid = far.rows[0].id;
    const page = await browser.newPage();
    await page.goto(`${extra.url}?sel=${fid}`);
    const row = page.locator(`${find.functionRow}.selected[data-id="${fid}"]`);
    await row.waitFor({ timeout: 20000 });
    await page.waitForFunction((sel) => {
      const r = document.querySelector(sel);
      const w = r && r.closest('.table-wrap');
      if (!r || !w) return false;
      const a = r.getBoundingClientRect(), b = w.getBoundingClientRect();
      return a.top >= b.top && a.bottom <= b.bottom;
    }, `${find.functionRow}.selected[data-id="${fid}"]`);
    assert.equal(await row.getAttribute('data-rank'), '3000');
    await screenshot(page, 'view-table-scrolled');
    assert.deepEqual(page.problems, []);
  } finally {
    extra.stop();
  }
});

test('hot path: one click selects and zooms to where the heaviest chain of calls spreads out', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl(THREADS));
  await chartReady(page, find.icicle);
  await page.locator(find.hotPath).click();
  await page.waitForURL(/root=.*sel=|sel=.*root=/);
  const url = new URL(page.url());
  const root = url.searchParams.get('root');
  const sel = url.searchParams.get('sel');
  assert.equal(root.split('.').pop(), sel);
  await page.waitForFunction(([s, r]) => document.querySelector(s).dataset.root === r, [find.icicle, root]);
  // The heaviest chain of the threads profile runs through the thread pool's worker.
  await page.waitForFunction((s) => [...document.querySelectorAll(`${s} a`)].some((a) => a.textContent === '_worker'), find.breadcrumb);
  const names = await page.locator(`${find.breadcrumb} a`).allTextContents();
  assert.ok(names.includes('_worker'), names.join(' › '));
  await screenshot(page, 'view-hot-path');
  assert.deepEqual(page.problems, []);
});

/**
 * Hues (degrees) of the strongly coloured pixels of a chart's canvas, once it has drawn more than
 * 50 of them: labels, grey built-ins and the background are left out by a saturation floor.
 */
async function canvasHues(page, sel) {
  const handle = await page.waitForFunction((s) => {
    const c = document.querySelector(`${s} canvas`);
    if (!c || !c.width || !c.height) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const hues = [];
    for (let i = 0; i < d.length; i += 4 * 7) {
      const [r, g, b] = [d[i] / 255, d[i + 1] / 255, d[i + 2] / 255];
      const max = Math.max(r, g, b), min = Math.min(r, g, b), l = (max + min) / 2;
      const s = max === min ? 0 : (max - min) / (1 - Math.abs(2 * l - 1));
      if (s < 0.35 || l < 0.2 || l > 0.85) continue;
      let h = max === r ? ((g - b) / (max - min)) % 6 : max === g ? (b - r) / (max - min) + 2 : (r - g) / (max - min) + 4;
      hues.push((h * 60 + 360) % 360);
    }
    return hues.length > 50 ? hues : null;
  }, sel, { timeout: 20000 });
  return handle.jsonValue();
}

/** The hue of a CSS colour variable of the page. */
async function varHue(page, name) {
  return page.evaluate((n) => {
    const hex = getComputedStyle(document.documentElement).getPropertyValue(n).trim();
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    const max = Math.max(r, g, b), min = Math.min(r, g, b);
    const h = max === r ? ((g - b) / (max - min)) % 6 : max === g ? (b - r) / (max - min) + 2 : (r - g) / (max - min) + 4;
    return (h * 60 + 360) % 360;
  }, name);
}

const hueGap = (a, b) => Math.min(Math.abs(a - b), 360 - Math.abs(a - b));

test('charts colour each function by the package field the server sends, not by a classifier of their own', async () => {
  // The same profile drawn twice, each time with every function's `package` rewritten in the
  // answers: the icicle and the bubble graph must take the colour family of the field.
  for (const [pkg, cssVar] of [['native', '--native'], ['stdlib', '--stdlib']]) {
    const page = await browser.newPage();
    let rewritten = 0;
    await page.route(/\/api\/profiles\/[0-9a-f]+\/(tree|graph)\?/, async (route) => {
      const resp = await route.fetch();
      const body = await resp.json();
      for (const n of body.nodes) if (n.package) { n.package = pkg; rewritten++; }
      await route.fulfill({ response: resp, json: body });
    });
    for (const [view, sel] of [['icicle', find.icicle], ['bubble-graph', find.bubbleGraph]]) {
      await page.goto(pageUrl(PSTATS, `?view=${view}`));
      await chartReady(page, sel);
      const want = await varHue(page, cssVar);
      const hues = await canvasHues(page, sel);
      const off = hues.filter((h) => hueGap(h, want) > 20).length;
      assert.ok(off / hues.length < 0.05, `${view}/${pkg}: ${off} of ${hues.length} pixels are not of ${cssVar} (hue ${want.toFixed(0)})`);
    }
    assert.ok(rewritten > 0);
    await page.close();
  }
});
