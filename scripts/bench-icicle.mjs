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
  // A balanced tree: 6 levels, fan-out so that the total is ~n nodes, equal widths.
  const nodes = [{ id: 0, parent: null, func: null, name: 'all', file: '', line: 0, path: '', depth: 0, total: 1, self_value: 0, calls: null, exactness: 'exact', total_min: null, total_max: null, truncated: false, merged: 0 }];
  let level = [0];
  const fan = Math.ceil(Math.pow(n, 1 / 6));
  for (let d = 1; d <= 6 && nodes.length < n; d++) {
    const next = [];
    for (const p of level) {
      for (let c = 0; c < fan && nodes.length < n; c++) {
        const parent = nodes[p];
        const node = { ...parent, id: nodes.length, parent: p, func: nodes.length, name: `function_${nodes.length}`, file: `/home/user/app/mod${c}.py`, line: c + 1, path: `${parent.path}.${nodes.length}`, depth: d, total: parent.total / fan, self_value: 0 };
        nodes.push(node);
        next.push(node.id);
      }
    }
    level = next;
  }
  const div = document.createElement('div');
  div.style.cssText = 'width:1280px;height:400px;overflow:auto;position:relative';
  document.body.appendChild(div);
  const chart = m.mountChart('icicle', div, () => {}, () => {});
  chart.setData(JSON.stringify({ mode: 'top-down', unit: 'samples', grand_total: 1, estimated: false, nodes }));
  const { times, drawn } = chart.benchZoom(60);
  times.sort((a, b) => a - b);
  return { nodes: nodes.length, drawn, median: times[30], p95: times[56], worst: times[59] };
}, NODES);
console.log(JSON.stringify(result));
await browser.close();
server.stop();
