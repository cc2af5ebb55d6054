// Icicle zoom-frame benchmark in headless Chromium: a tree slice with ~30k nodes that are all
// wider than a pixel at 1280 px, drawn through the app's own chart module, 10x zoom over 60 frames.
// Usage: node scripts/bench-icicle.mjs   (needs target/release/profview and dist/ built)
import { startServer, launch } from '../tests/e2e/harness.mjs';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const NODES = Number(process.env.NODES || 30000);
const dir = mkdtempSync(path.join(tmpdir(), 'profview-bench-'));
const file = path.join(dir, 'tiny.folded');
writeFileSync(file, 'main;work 1\n');
const server = await startServer([file]);
const browser = await launch();
const page = await browser.newPage();
await page.goto(server.url);
await page.waitForSelector('[data-testid="icicle"]');
const result = await page.evaluate(async (n) => {
  const href = document.querySelector('link[rel=modulepreload][href*="charts.js"]').getAttribute('href');
  const m = await import(href);
  const nodes = [{ id: 0, parent: null, func: null, name: 'all', file: '', line: 0, path: '', depth: 0, total: 1, self_value: 0, calls: null, exactness: 'exact', total_min: null, total_max: null, truncated: false, merged: 0 }];
  // 1,200 children of the root, each the head of a 24-deep chain: ~30k nodes, every one about a
  // pixel wide or more at 1280 px, so all of them are visible and drawn.
  const heads = 1200;
  const depth = Math.max(1, Math.round((n - 1) / heads));
  for (let h = 0; h < heads; h++) {
    let parent = nodes[0];
    for (let d = 1; d <= depth && nodes.length < n; d++) {
      const node = { ...parent, id: nodes.length, parent: parent.id, func: nodes.length, name: `function_${nodes.length}`, file: `/home/user/app/mod${h % 7}.py`, line: d, path: `${parent.path}.${nodes.length}`, depth: d, total: 1 / heads, self_value: d === depth ? 1 / heads : 0 };
      nodes.push(node);
      parent = node;
    }
  }
  const div = document.createElement('div');
  div.style.cssText = 'width:1280px;height:500px;overflow:auto;position:relative';
  document.body.appendChild(div);
  const chart = m.mountChart('icicle', div, () => {}, () => {});
  chart.setData(JSON.stringify({ mode: 'top-down', unit: 'samples', grand_total: 1, estimated: false, nodes }));
  chart.benchZoom(5); // warm-up: canvas allocation, font metrics, JIT
  const { times, drawn } = chart.benchZoom(60);
  times.sort((a, b) => a - b);
  return { nodes: nodes.length, drawn, median: times[30], p95: times[56], worst: times[59] };
}, NODES);
console.log(JSON.stringify(result));
await browser.close();
server.stop();
