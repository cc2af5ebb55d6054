// Zoom-frame benchmark in headless Chromium: a tree slice with ~30k nodes that are all wider than a
// pixel at 1280 px, drawn through the app's own chart module (icicle, flame, diff flame), 10x zoom
// over 60 frames; each against a bare canvas in the same run that replays the same frames' fillRect
// and fillText calls and nothing else. Prints each median frame and the ratio.
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
      const node = { ...parent, id: nodes.length, parent: parent.id, func: nodes.length, name: `function_${nodes.length}`, file: `/home/user/app/mod${h % 7}.py`, line: d, path: `${parent.path}.${nodes.length}`, depth: d, total: 1 / heads, self_value: d === depth ? 1 / heads : 0, package: 'user' };
      nodes.push(node);
      parent = node;
    }
  }
  // The diff: the same shape, each chain split between base and new by its own factor (some
  // chains faster, some slower, a few gone or new).
  const diffNodes = nodes.map((nd, i) => {
    const chain = nd.depth === 0 ? 0 : Math.floor((i - 1) / depth);
    const f = nd.depth === 0 ? 1 : [0, 0.6, 1, 1.4, 2][chain % 5];
    return { id: nd.id, parent: nd.parent, func: nd.func, name: nd.name, file: nd.file, line: nd.line, path: nd.path, depth: nd.depth,
      base: nd.total * f / 2, new: nd.total * (2 - f) / 2, base_self: nd.self_value * f / 2, new_self: nd.self_value * (2 - f) / 2, truncated: false, package: 'user' };
  });
  const frames = 60;
  const domainAt = (root, f) => {
    const t = f / Math.max(1, frames - 1);
    const w = root.total * (1 - 0.9 * t);
    return [root.x0 + (root.total - w) * 0.5, root.x0 + (root.total + w) * 0.5];
  };
  const stats = (times) => { const s = [...times].sort((a, b) => a - b); return { median: s[frames / 2], p95: s[Math.floor(frames * 0.95)] }; };
  const out = { nodes: nodes.length };
  for (const kind of ['icicle', 'flame', 'diff-flame']) {
    const div = document.createElement('div');
    div.style.cssText = 'width:1280px;height:500px;overflow:auto;position:relative';
    document.body.appendChild(div);
    const chart = m.mountChart(kind, div, () => {}, () => {});
    if (kind === 'diff-flame') chart.setData(JSON.stringify({ mode: 'top-down', unit: 'samples', normalize: 'absolute', estimated: false, nodes: diffNodes }));
    else chart.setData(JSON.stringify({ mode: 'top-down', unit: 'samples', grand_total: 1, estimated: false, nodes }));
    chart.benchZoom(5); // warm-up: canvas allocation, font metrics, JIT
    const root = chart.nodes[0];
    // Record what each frame draws (fillRect and fillText calls), untimed.
    const recorded = [];
    const ctx = chart.ctx;
    const { fillRect, fillText } = ctx;
    for (let f = 0; f < frames; f++) {
      const calls = [];
      ctx.fillRect = function (...a) { calls.push([0, ...a]); return fillRect.apply(this, a); };
      ctx.fillText = function (...a) { calls.push([1, ...a]); return fillText.apply(this, a); };
      chart.domain = domainAt(root, f);
      chart.draw();
      ctx.fillRect = fillRect; ctx.fillText = fillText;
      delete ctx.fillRect; delete ctx.fillText;
      recorded.push(calls);
    }
    // The chart's frames.
    const chartTimes = [];
    let drawn = 0;
    for (let f = 0; f < frames; f++) {
      chart.domain = domainAt(root, f);
      const t0 = performance.now();
      chart.draw();
      ctx.getImageData(0, 0, 1, 1);
      chartTimes.push(performance.now() - t0);
      if (f === 0) drawn = Number(div.dataset.nodes);
    }
    // The bare canvas: the same rectangles and labels, replayed, nothing else.
    const bare = document.createElement('canvas');
    bare.width = chart.canvas.width; bare.height = chart.canvas.height;
    const b = bare.getContext('2d', { alpha: false });
    const dpr = window.devicePixelRatio || 1;
    b.setTransform(dpr, 0, 0, dpr, 0, 0);
    b.font = '11px ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace';
    b.textBaseline = 'middle';
    for (let f = 0; f < 5; f++) for (const c of recorded[f]) c[0] ? b.fillText(c[1], c[2], c[3]) : b.fillRect(c[1], c[2], c[3], c[4]);
    const bareTimes = [];
    for (let f = 0; f < frames; f++) {
      const calls = recorded[f];
      const t0 = performance.now();
      b.fillStyle = '#8fa3c8';
      for (const c of calls) if (!c[0]) b.fillRect(c[1], c[2], c[3], c[4]);
      b.fillStyle = '#111';
      for (const c of calls) if (c[0]) b.fillText(c[1], c[2], c[3]);
      b.getImageData(0, 0, 1, 1);
      bareTimes.push(performance.now() - t0);
    }
    const cs = stats(chartTimes), bs = stats(bareTimes);
    out[kind] = { drawn, median: +cs.median.toFixed(1), p95: +cs.p95.toFixed(1), bareMedian: +bs.median.toFixed(1), ratio: +(cs.median / bs.median).toFixed(2) };
    chart.destroy();
    div.remove();
  }
  return out;
}, NODES);
console.log(JSON.stringify(result));
await browser.close();
server.stop();
