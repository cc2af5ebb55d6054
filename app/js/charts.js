// d3 glue for profview's charts. The Rust side reaches it only through app/src/charts.rs.
//
// Safety: every function name and path is attacker text. They are drawn with canvas fillText,
// or put into the DOM with textContent / d3 .text(); never as markup.
//
// d3 (window.d3, loaded before the wasm) does the scales, the zoom behaviour, the transitions and
// the layouts (force, pack, treemap).

const ROW = 18;
const FONT = '11px ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace';

function d3() {
  if (!window.d3) throw new Error('d3 is not loaded');
  return window.d3;
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

// The colour family of each package class. The class is the `package` field the server (the
// index's classify.rs) sends with every node; nothing here classifies a file. Merged "other (N)"
// nodes and the root (no package) are drawn in the built-in grey.
const PALETTE_VARS = {
  user: '--user', stdlib: '--stdlib', 'site-packages': '--site', builtin: '--builtin', native: '--native', other: '--builtin',
};

function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}

/** Colour of a node: its package's colour, shaded by a hash of its name so neighbours differ. */
function makeColorer() {
  const base = {};
  for (const [k, v] of Object.entries(PALETTE_VARS)) base[k] = d3().hsl(cssVar(v, '#888'));
  const cache = new Map();
  return (name, pkg, isOther) => {
    const cls = isOther ? 'other' : (pkg || 'builtin');
    const key = cls + '\u0000' + name;
    let c = cache.get(key);
    if (c) return c;
    const b = base[cls] || base.user;
    const h = hash(name);
    // A few quantized shades per package: neighbours differ, and the renderer can batch by colour.
    const shade = d3().hsl(b.h + ((h % 5) - 2) * 4, Math.max(0, Math.min(1, b.s * (0.8 + ((h >> 5) % 3) * 0.1))),
      Math.max(0.2, Math.min(0.8, b.l + (((h >> 10) % 4) - 1.5) * 0.04)));
    c = shade.formatHex();
    cache.set(key, c);
    return c;
  };
}

// Numbers for reading, by the rules of `crates/api/src/readable.rs` (the table and the detail
// panel use those): times in s/ms/µs/ns with three significant digits, sizes in B/kB/MB/GB,
// counts as integers with their unit. A browser test checks a tooltip against the table.
const SECONDS_PER = { seconds: 1, milliseconds: 1e-3, microseconds: 1e-6, nanoseconds: 1e-9 };

// Exact powers of ten, as in readable.rs, so both round to the same digits.
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

function round3(x) {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const e = Math.floor(Math.log10(a)) - 2;
  const p = POW10[Math.abs(e)];
  if (p === undefined) return x;
  const r = e >= 0 ? Math.round(a / p) * p : Math.round(a * p) / p;
  return x < 0 ? -r : r;
}

function sig3(x) {
  const r = round3(x);
  const a = Math.abs(r);
  return a >= 100 || a === 0 ? r.toFixed(0) : a >= 10 ? r.toFixed(1) : r.toFixed(2);
}

export function fmt(v, unit) {
  if (v == null || Number.isNaN(v)) return '';
  if (unit in SECONDS_PER) {
    const s = v * SECONDS_PER[unit];
    const a = Math.abs(round3(s));
    if (a === 0) return '0 s';
    if (a >= 1) return `${sig3(s)} s`;
    if (a >= 1e-3) return `${sig3(s * 1e3)} ms`;
    if (a >= 1e-6) return `${sig3(s * 1e6)} µs`;
    return `${sig3(s * 1e9)} ns`;
  }
  if (unit === 'bytes') {
    const a = Math.abs(round3(v));
    if (a >= 1e9) return `${sig3(v / 1e9)} GB`;
    if (a >= 1e6) return `${sig3(v / 1e6)} MB`;
    if (a >= 1e3) return `${sig3(v / 1e3)} kB`;
    return `${v.toFixed(0)} B`;
  }
  const n = Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : v.toFixed(2);
  return `${n} ${unit || 'samples'}`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** Fills the shared tooltip with rows of [label, value] as text. */
function fillTooltip(tip, title, sub, rows, note) {
  tip.replaceChildren();
  tip.appendChild(el('div', 'tt-title', title));
  if (sub) tip.appendChild(el('div', 'tt-sub', sub));
  const t = el('table');
  for (const [k, v] of rows) {
    const tr = el('tr');
    tr.appendChild(el('th', null, k));
    tr.appendChild(el('td', null, v));
    t.appendChild(tr);
  }
  tip.appendChild(t);
  if (note) tip.appendChild(el('div', 'tt-note', note));
}

function placeTooltip(tip, container, ev) {
  const r = container.getBoundingClientRect();
  let x = ev.clientX - r.left + 14;
  let y = ev.clientY - r.top + 14;
  tip.style.display = 'block';
  const w = tip.offsetWidth, h = tip.offsetHeight;
  if (x + w > r.width) x = Math.max(0, ev.clientX - r.left - w - 10);
  if (y + h > container.clientHeight + container.scrollTop) y = Math.max(0, ev.clientY - r.top - h - 10);
  tip.style.left = `${x}px`;
  tip.style.top = `${y + container.scrollTop}px`;
}

/** The tooltip of a tree node (icicle, flame, pack, squaremap): numbers, trust level, bounds. */
function showTreeNode(tip, container, ev, n, unit, grandTotal) {
  const pct = grandTotal ? `${(100 * n.total / grandTotal).toFixed(2)} %` : '';
  const rows = [['total', `${fmt(n.total, unit)}  (${pct})`], ['self', fmt(n.self_value, unit)]];
  if (n.calls != null) rows.push(['calls', `${n.exactness === 'exact' ? '' : '≈ '}${Math.round(n.calls).toLocaleString()}`]);
  if (n.func_ncalls != null) rows.push(['calls (exact, whole run)', n.func_ncalls.toLocaleString()]);
  if (n.total_min != null && n.total_max != null && n.exactness !== 'exact') {
    rows.push(['bounds', `${fmt(n.total_min, unit)} … ${fmt(n.total_max, unit)}`]);
  }
  const note = n.exactness === 'estimated' ? 'Estimated: pstats has caller→callee edges, not stacks; this share is split in proportion to the edge data.'
    : n.exactness === 'cut' ? 'Recursion cycle cut here.' : n.truncated ? 'More detail below: click to zoom.' : null;
  const loc = n.func == null ? '' : (n.line ? `${n.file}:${n.line}` : n.file);
  fillTooltip(tip, n.name, loc, rows, note);
  placeTooltip(tip, container, ev);
}

/**
 * Icicle (top-down, root on top) or flame (inverted tree, root at the bottom) on a canvas.
 * One instance per mounted view.
 */
export class Icicle {
  constructor(container, inverted, onSelect, onZoom) {
    this.container = container;
    this.inverted = inverted;
    this.onSelect = onSelect;
    this.onZoom = onZoom;
    this.canvas = el('canvas', 'icicle-canvas');
    this.tip = el('div', 'tooltip');
    this.tip.style.display = 'none';
    container.replaceChildren(this.canvas, this.tip);
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.nodes = [];
    this.groups = new Map();
    this.maxDepth = 0;
    this.selected = null;
    this.search = '';
    this.unit = 'samples';
    this.grandTotal = 0;
    this.domain = [0, 1];
    this.hover = -1;
    this.colorer = makeColorer();
    this.lastFrameMs = 0;
    this.canvas.addEventListener('mousemove', (ev) => this.onMove(ev));
    this.canvas.addEventListener('mouseleave', () => { this.hover = -1; this.tip.style.display = 'none'; });
    this.canvas.addEventListener('click', (ev) => this.onClick(ev));
    this.resizeObserver = new ResizeObserver(() => this.draw());
    this.resizeObserver.observe(container);
    this.media = window.matchMedia('(prefers-color-scheme: dark)');
    this.mediaListener = () => { this.colorer = makeColorer(); this.theme = null; this.palette = null; this.recolor(); this.draw(); };
    this.media.addEventListener('change', this.mediaListener);
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.media.removeEventListener('change', this.mediaListener);
    if (this.timer) this.timer.stop();
    this.container.replaceChildren();
  }

  /** Takes a TreeSlice (JSON text) and lays it out. */
  setData(json) { this.load(JSON.parse(json)); }

  /** Lays a TreeSlice out: x0 in value units, depth in rows. */
  load(slice) {
    this.unit = slice.unit;
    this.grandTotal = slice.grand_total;
    this.estimated = slice.estimated;
    const nodes = slice.nodes;
    const next = new Float64Array(nodes.length); // running child offset per node
    // Estimated (pstats) children can add up to more than their parent. Their drawn width `dw`
    // is scaled to fit inside the parent so siblings never overlap; tooltips keep the numbers.
    const kids = new Float64Array(nodes.length);
    for (const n of nodes) if (n.parent != null) kids[n.parent] += n.total;
    let maxDepth = 0;
    for (const n of nodes) {
      if (n.parent == null) {
        n.x0 = 0;
        n.dw = n.total;
      } else {
        const p = nodes[n.parent];
        const room = Math.max(p.total, kids[n.parent]);
        n.dw = room > 0 ? n.total * (p.dw / room) : 0;
        n.x0 = p.x0 + next[n.parent];
        next[n.parent] += n.dw;
      }
      n.lname = n.name.toLowerCase();
      n.lfile = n.file.toLowerCase();
      n.label = (n.exactness === 'estimated' ? '≈ ' : n.exactness === 'cut' ? '↻ ' : '') + n.name;
      if (n.depth > maxDepth) maxDepth = n.depth;
    }
    this.nodes = nodes;
    this.maxDepth = maxDepth;
    this.recolor();
    this.rematch();
    const root = nodes[0];
    this.domain = root ? [root.x0, root.x0 + Math.max(root.dw, 1e-300)] : [0, 1];
    if (this.timer) { this.timer.stop(); this.timer = null; }
    this.draw();
  }

  setSelected(func) { this.selected = func; this.draw(); }
  setSearch(text) { this.search = (text || '').toLowerCase(); this.rematch(); this.draw(); }

  /** Colours are computed once per node, not per frame. */
  recolor() {
    const groups = new Map();
    this.nodes.forEach((n, i) => {
      n.color = this.colorer(n.name, n.package, n.func == null && n.parent != null);
      let g = groups.get(n.color);
      if (!g) groups.set(n.color, (g = []));
      g.push(i);
    });
    this.groups = groups;
  }

  /** Search matches are computed once per search, not per frame. */
  rematch() {
    const q = this.search;
    for (const n of this.nodes) n.match = !!q && (n.lname.includes(q) || n.lfile.includes(q));
  }

  width() { return Math.max(100, this.container.clientWidth); }

  rowY(depth, height) { return this.inverted ? height - (depth + 1) * ROW : depth * ROW; }

  draw() {
    const t0 = performance.now();
    const W = this.width();
    const H = Math.max((this.maxDepth + 1) * ROW + 2, 60);
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(W * dpr) || this.canvas.height !== Math.round(H * dpr)) {
      this.canvas.width = Math.round(W * dpr);
      this.canvas.height = Math.round(H * dpr);
      this.canvas.style.width = `${W}px`;
      this.canvas.style.height = `${H}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // Theme colours are read once (getComputedStyle is not free), again when the scheme changes.
    const theme = this.theme || (this.theme = {
      bg: cssVar('--bg', '#fff'), bg3: cssVar('--bg3', '#eee'), muted: cssVar('--muted', '#888'), accent: cssVar('--accent', '#36f'),
    });
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, W, H);
    // The scale is affine: evaluate it in the loops as k * v + b.
    const [d0, d1] = this.domain;
    const k = W / (d1 - d0), b = -d0 * k;
    const nodes = this.nodes;
    const N = nodes.length;
    if (!this.xs || this.xs.length < N) {
      this.xs = new Float64Array(N);
      this.ws = new Float64Array(N);
      this.vis = new Uint8Array(N);
      this.subPixel = new Float64Array(N);
    }
    const { xs, ws, vis, subPixel } = this;
    subPixel.fill(0, 0, N);
    const search = this.search;
    let drawn = 0, selectedDrawn = 0, matches = 0;
    // Pass 1: geometry. Nodes narrower than a pixel are merged into one block per parent.
    for (let i = 0; i < N; i++) {
      const n = nodes[i];
      const x0 = k * n.x0 + b;
      const w = k * n.dw;
      xs[i] = x0; ws[i] = w;
      vis[i] = 0;
      if (x0 + w < 0 || x0 > W) continue;
      if (n.match) matches++;
      if (w < 1) {
        if (n.parent != null) subPixel[n.parent] += w;
        continue;
      }
      vis[i] = 1;
      drawn++;
      if (n.func != null && n.func === this.selected) selectedDrawn++;
    }
    // Pass 2: rectangles, one fillStyle per colour group (setting a style parses it: do it rarely).
    for (const [color, idx] of this.groups) {
      ctx.fillStyle = color;
      for (let j = 0; j < idx.length; j++) {
        const i = idx[j];
        if (!vis[i] || (search && !nodes[i].match)) continue;
        ctx.fillRect(xs[i], this.rowY(nodes[i].depth, H), Math.max(ws[i] - 0.5, 0.5), ROW - 1);
      }
    }
    if (search) {
      ctx.fillStyle = theme.bg3;
      for (let i = 0; i < N; i++) {
        if (vis[i] && !nodes[i].match) ctx.fillRect(xs[i], this.rowY(nodes[i].depth, H), Math.max(ws[i] - 0.5, 0.5), ROW - 1);
      }
    }
    ctx.fillStyle = theme.muted;
    for (let i = 0; i < N; i++) {
      if (subPixel[i] >= 1) {
        const p = nodes[i];
        const end = xs[i] + ws[i];
        ctx.fillRect(end - subPixel[i] - 0.5, this.rowY(p.depth + 1, H), subPixel[i], ROW - 1);
      }
    }
    // Pass 3: marks and labels, only where there is room.
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const textFits = this.charW || (this.charW = ctx.measureText('M').width);
    const muted = theme.muted;
    ctx.strokeStyle = theme.accent;
    ctx.lineWidth = 2;
    // fillStyle is set only when it changes: assigning it parses the colour, even the same one.
    let fill = '';
    const setFill = (c) => { if (c !== fill) { ctx.fillStyle = c; fill = c; } };
    const minLabel = textFits * 3;
    for (let i = 0; i < N; i++) {
      if (!vis[i]) continue;
      const n = nodes[i];
      const w = ws[i];
      const x0 = xs[i];
      const y = this.rowY(n.depth, H);
      if (n.exactness !== 'exact' && w > 6) {
        // Estimated or cut: a dashed base line says "not measured".
        setFill('rgba(0,0,0,0.22)');
        for (let hx = x0 + 3; hx < x0 + w - 2; hx += 6) ctx.fillRect(hx, y + ROW - 4, 3, 2);
      }
      if (n.marked) this.mark(ctx, n, x0, y, w);
      if (n.func != null && n.func === this.selected) ctx.strokeRect(x0 + 1, y + 1, Math.max(w - 2.5, 1), ROW - 3);
      if (w > minLabel) {
        const maxChars = Math.floor((w - 6) / textFits);
        let label = n.label;
        if (label.length > maxChars) label = label.slice(0, Math.max(1, maxChars - 1)) + '…';
        setFill(search && !n.match ? muted : '#111');
        ctx.fillText(label, x0 > 0 ? x0 + 3 : 3, y + ROW / 2);
      }
    }
    this.publish(drawn, selectedDrawn, matches);
    this.lastFrameMs = performance.now() - t0;
    return this.lastFrameMs;
  }

  /** A mark on a drawn node besides its colour (none here; the diff icicle marks removed and
   *  added paths). */
  mark() {}

  /** Exposes what is drawn as data attributes, for tests and for tools reading the page. */
  publish(drawn, selectedDrawn, matches) {
    const ds = this.container.dataset;
    ds.nodes = String(drawn);
    ds.selectedNodes = String(selectedDrawn);
    ds.matches = String(matches);
    ds.root = this.nodes[0] ? this.nodes[0].path : '';
    ds.rootName = this.nodes[0] ? this.nodes[0].name : '';
  }

  hit(ev) {
    const r = this.canvas.getBoundingClientRect();
    const px = ev.clientX - r.left, py = ev.clientY - r.top;
    const H = r.height;
    const depth = this.inverted ? Math.floor((H - py) / ROW) : Math.floor(py / ROW);
    const x = d3().scaleLinear().domain(this.domain).range([0, this.width()]);
    const v = x.invert(px);
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      if (n.depth === depth && v >= n.x0 && v < n.x0 + n.dw) return i;
    }
    return -1;
  }

  onMove(ev) {
    const i = this.hit(ev);
    this.hover = i;
    if (i < 0) { this.tip.style.display = 'none'; return; }
    showTreeNode(this.tip, this.container, ev, this.nodes[i], this.unit, this.grandTotal);
  }

  onClick(ev) {
    const i = this.hit(ev);
    if (i < 0) return;
    const n = this.nodes[i];
    if (n.func != null) this.onSelect(n.func);
    if (n.func == null && n.parent != null) return; // "other" cannot be a zoom root
    this.zoomTo(n);
  }

  /** Animates the x domain to the node's extent (d3 transition timing), then asks for the slice under it. */
  zoomTo(n) {
    const target = [n.x0, n.x0 + Math.max(n.dw, 1e-300)];
    const from = this.domain.slice();
    const interp = d3().interpolate(from, target);
    const ease = d3().easeCubicInOut;
    if (this.timer) this.timer.stop();
    const duration = 250;
    this.timer = d3().timer((elapsed) => {
      const t = Math.min(1, elapsed / duration);
      this.domain = interp(ease(t));
      this.draw();
      if (t >= 1) {
        this.timer.stop();
        this.timer = null;
        this.onZoom(n.path);
      }
    });
  }

  /** Draws `frames` zoom frames (a 10x zoom into the middle) and returns each frame's ms and the
   *  number of nodes drawn in the first frame. Used by scripts/bench-icicle.mjs. */
  benchZoom(frames) {
    const root = this.nodes[0];
    if (!root) return { times: [], drawn: 0 };
    const times = [];
    let drawn = 0;
    for (let f = 0; f < frames; f++) {
      const t = f / Math.max(1, frames - 1);
      const w = root.total * (1 - 0.9 * t);
      this.domain = [root.x0 + (root.total - w) * 0.5, root.x0 + (root.total + w) * 0.5];
      // getImageData forces the canvas to rasterize now, so the time includes the pixels, not
      // just the recorded draw calls.
      const t0 = performance.now();
      this.draw();
      this.ctx.getImageData(0, 0, 1, 1);
      times.push(performance.now() - t0);
      if (f === 0) drawn = Number(this.container.dataset.nodes);
    }
    this.domain = [root.x0, root.x0 + root.total];
    this.draw();
    return { times, drawn };
  }
}

// Diff colours: blue for faster, orange for slower (a colour-blind-safe pair: they differ in
// lightness and in the blue-yellow axis, not only in red-green hue), from a neutral grey for no
// change to the full colour for a path that vanished or appeared. Quantized to a few steps so the
// renderer batches by colour.
const DIFF_STEPS = 8;

function diffPalette() {
  const neutral = cssVar('--diff-same', '#d9d9d9');
  const faster = cssVar('--diff-faster', '#2166ac');
  const slower = cssVar('--diff-slower', '#b35806');
  const fast = [], slow = [];
  for (let i = 0; i <= DIFF_STEPS; i++) {
    fast.push(d3().interpolateRgb(neutral, faster)(i / DIFF_STEPS));
    slow.push(d3().interpolateRgb(neutral, slower)(i / DIFF_STEPS));
  }
  return { fast, slow, neutral };
}

/** The relative change of a diff node in [-1, 1]: -1 vanished, +1 appeared, 0 unchanged. */
export function diffChange(base, next) {
  const m = Math.max(Math.abs(base), Math.abs(next));
  return m > 0 ? (next - base) / m : 0;
}

function showDiffNode(tip, container, ev, n, unit) {
  const d = n.new - n.base;
  const rel = n.base ? `${d >= 0 ? '+' : ''}${(100 * d / n.base).toFixed(1)} %` : (n.new ? 'new path' : '');
  const rows = [['base', fmt(n.base, unit)], ['new', fmt(n.new, unit)], ['change', `${d >= 0 ? '+' : ''}${fmt(d, unit)}  ${rel}`],
    ['self base → new', `${fmt(n.base_self, unit)} → ${fmt(n.new_self, unit)}`]];
  const note = n.new === 0 && n.base > 0 ? 'This path is gone in the new profile.' : n.base === 0 && n.new > 0 ? 'This path is new.'
    : n.significant === false ? "Within the noise: the test does not call this function's change real (drawn grey)."
      : (n.truncated ? 'More detail below: click to zoom.' : null);
  const loc = n.func == null ? '' : (n.line ? `${n.file}:${n.line}` : n.file);
  fillTooltip(tip, n.name, loc, rows, note);
  placeTooltip(tip, container, ev);
}

/**
 * The diff flame graph (root at the bottom) or icicle (root on top) of two sides: the union of
 * both call trees, each box as wide as base + new (so a path that vanished keeps its room) and
 * coloured by the direction and size of its change. Same canvas renderer as the icicle.
 */
export class DiffIcicle extends Icicle {
  setData(json) {
    const t = JSON.parse(json);
    const nodes = t.nodes.map((n) => ({ ...n, total: n.base + n.new, self_value: n.base_self + n.new_self, exactness: 'exact' }));
    const root = nodes[0];
    this.load({ unit: t.unit, grand_total: root ? root.total : 0, estimated: t.estimated, nodes });
  }

  recolor() {
    const pal = this.palette || (this.palette = diffPalette());
    const groups = new Map();
    this.nodes.forEach((n, i) => {
      const r = diffChange(n.base, n.new);
      // A change the test calls noise is drawn as no change (grey); vanished and new paths keep
      // their colour and stripes.
      const noise = n.significant === false && n.base > 0 && n.new > 0;
      const step = noise ? 0 : Math.round(Math.abs(r) * DIFF_STEPS);
      n.color = step === 0 ? pal.neutral : r < 0 ? pal.fast[step] : pal.slow[step];
      n.change = r;
      n.marked = n.func != null && ((n.new === 0 && n.base > 0) || (n.base === 0 && n.new > 0));
      let g = groups.get(n.color);
      if (!g) groups.set(n.color, (g = []));
      g.push(i);
    });
    this.groups = groups;
    const counts = { slower: 0, faster: 0, gone: 0, added: 0, noise: 0 };
    for (const n of this.nodes) {
      if (n.func == null) continue;
      if (n.significant === false && n.base > 0 && n.new > 0) counts.noise++;
      else if (n.new === 0 && n.base > 0) counts.gone++;
      else if (n.base === 0 && n.new > 0) counts.added++;
      else if (n.change > 0.05) counts.slower++;
      else if (n.change < -0.05) counts.faster++;
    }
    Object.assign(this.container.dataset, counts);
  }

  /** Vanished and appeared paths get diagonal stripes too: the change reads without colour. */
  mark(ctx, n, x0, y, w) {
    if (w < 8 || n.func == null) return;
    const gone = n.new === 0 && n.base > 0, added = n.base === 0 && n.new > 0;
    if (!gone && !added) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y, w, ROW - 1);
    ctx.clip();
    ctx.strokeStyle = gone ? 'rgba(255,255,255,0.55)' : 'rgba(0,0,0,0.35)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let sx = x0 - ROW; sx < x0 + w; sx += 6) {
      ctx.moveTo(sx, y + ROW);
      ctx.lineTo(sx + ROW, y);
    }
    ctx.stroke();
    ctx.restore();
  }

  onMove(ev) {
    const i = this.hit(ev);
    this.hover = i;
    if (i < 0) { this.tip.style.display = 'none'; return; }
    showDiffNode(this.tip, this.container, ev, this.nodes[i], this.unit);
  }
}

/** Builds a d3 hierarchy from a TreeSlice: each node's value is its own `total` exactly. */
function hierarchyOf(slice) {
  const nodes = slice.nodes.map((n) => ({ ...n, children: [] }));
  for (const n of nodes) if (n.parent != null) nodes[n.parent].children.push(n);
  const root = nodes[0];
  const h = d3().hierarchy(root, (d) => (d.children.length ? d.children : null));
  // Own remainder = total minus the children's totals (self time plus anything cut away).
  h.sum((d) => Math.max(0, d.total - d.children.reduce((a, c) => a + c.total, 0)));
  return h;
}

/**
 * Circle packing (d3.pack) or RunSnakeRun's squaremap (d3.treemap, squarified, nested with a
 * header band per parent), drawn on canvas. Click selects the function and drills down.
 */
export class TreeChart {
  constructor(container, kind, onSelect, onZoom) {
    this.container = container;
    this.kind = kind; // 'pack' | 'treemap'
    this.onSelect = onSelect;
    this.onZoom = onZoom;
    this.canvas = el('canvas', 'tree-canvas');
    this.tip = el('div', 'tooltip');
    this.tip.style.display = 'none';
    container.replaceChildren(this.canvas, this.tip);
    this.ctx = this.canvas.getContext('2d');
    this.items = [];
    this.selected = null;
    this.search = '';
    this.colorer = makeColorer();
    this.canvas.addEventListener('mousemove', (ev) => this.onMove(ev));
    this.canvas.addEventListener('mouseleave', () => { this.tip.style.display = 'none'; });
    this.canvas.addEventListener('click', (ev) => this.onClick(ev));
    this.resizeObserver = new ResizeObserver(() => { if (this.slice) this.layout(); });
    this.resizeObserver.observe(container);
  }

  destroy() { this.resizeObserver.disconnect(); this.container.replaceChildren(); }

  setData(json) {
    this.slice = JSON.parse(json);
    this.unit = this.slice.unit;
    this.grandTotal = this.slice.grand_total;
    this.layout();
  }

  setSelected(func) { this.selected = func; this.draw(); }
  setSearch(text) { this.search = (text || '').toLowerCase(); this.draw(); }

  layout() {
    const W = Math.max(100, this.container.clientWidth);
    const H = Math.max(100, this.container.clientHeight);
    this.W = W; this.H = H;
    const root = hierarchyOf(this.slice);
    if (this.kind === 'pack') {
      d3().pack().size([W, H]).padding(2)(root);
    } else {
      d3().treemap().size([W, H]).tile(d3().treemapSquarify).paddingOuter(2).paddingTop((d) => (d.depth < 12 && d.y1 - d.y0 > 30 ? 15 : 2)).round(true)(root);
    }
    this.items = root.descendants().filter((d) => d.data.total > 0);
    this.container.dataset.nodes = String(this.items.length);
    this.draw();
  }

  draw() {
    const t0 = performance.now();
    const { W, H } = this;
    if (!W) return 0;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(W * dpr) || this.canvas.height !== Math.round(H * dpr)) {
      this.canvas.width = Math.round(W * dpr); this.canvas.height = Math.round(H * dpr);
      this.canvas.style.width = `${W}px`; this.canvas.style.height = `${H}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const charW = ctx.measureText('M').width;
    const dim = cssVar('--bg3', '#eee');
    const accent = cssVar('--accent', '#36f');
    const search = this.search;
    let selectedDrawn = 0, matches = 0;
    for (const d of this.items) {
      const n = d.data;
      const match = !search || n.name.toLowerCase().includes(search) || n.file.toLowerCase().includes(search);
      if (search && match) matches++;
      if (n.func != null && n.func === this.selected) selectedDrawn++;
      const color = match ? this.colorer(n.name, n.package, n.func == null && n.parent != null) : dim;
      const isSel = n.func != null && n.func === this.selected;
      if (this.kind === 'pack') {
        if (d.r < 0.5) continue;
        ctx.beginPath();
        ctx.arc(d.x, d.y, d.r, 0, 2 * Math.PI);
        ctx.fillStyle = color;
        ctx.globalAlpha = d.children ? 0.35 : 0.9;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.lineWidth = isSel ? 3 : 0.5;
        ctx.strokeStyle = isSel ? accent : 'rgba(0,0,0,0.25)';
        ctx.stroke();
        if (!d.children && d.r * 2 > charW * 5) {
          const max = Math.floor((d.r * 2 - 4) / charW);
          const label = n.name.length > max ? n.name.slice(0, Math.max(1, max - 1)) + '…' : n.name;
          ctx.fillStyle = '#111';
          ctx.textAlign = 'center';
          ctx.fillText(label, d.x, d.y);
          ctx.textAlign = 'start';
        }
      } else {
        const w = d.x1 - d.x0, h = d.y1 - d.y0;
        if (w < 0.5 || h < 0.5) continue;
        ctx.fillStyle = color;
        ctx.globalAlpha = d.children ? 0.55 : 0.95;
        ctx.fillRect(d.x0, d.y0, w, h);
        ctx.globalAlpha = 1;
        ctx.lineWidth = isSel ? 3 : 0.5;
        ctx.strokeStyle = isSel ? accent : 'rgba(0,0,0,0.35)';
        ctx.strokeRect(d.x0 + 0.25, d.y0 + 0.25, w - 0.5, h - 0.5);
        const header = d.children && h > 30 && d.depth < 12;
        if (w > charW * 4 && h > 13 && (header || !d.children)) {
          const max = Math.floor((w - 6) / charW);
          const label = n.name.length > max ? n.name.slice(0, Math.max(1, max - 1)) + '…' : n.name;
          ctx.fillStyle = '#111';
          ctx.fillText(label, d.x0 + 3, header ? d.y0 + 8 : d.y0 + Math.min(h / 2, 9));
        }
      }
    }
    const ds = this.container.dataset;
    ds.selectedNodes = String(selectedDrawn);
    ds.matches = String(matches);
    ds.root = this.slice.nodes[0] ? this.slice.nodes[0].path : '';
    this.lastFrameMs = performance.now() - t0;
    return this.lastFrameMs;
  }

  hit(ev) {
    const r = this.canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let best = null;
    for (const d of this.items) {
      const inside = this.kind === 'pack'
        ? (x - d.x) ** 2 + (y - d.y) ** 2 <= d.r * d.r
        : x >= d.x0 && x < d.x1 && y >= d.y0 && y < d.y1;
      if (inside && (!best || d.depth > best.depth)) best = d;
    }
    return best;
  }

  onMove(ev) {
    const d = this.hit(ev);
    if (!d) { this.tip.style.display = 'none'; return; }
    showTreeNode(this.tip, this.container, ev, d.data, this.unit, this.grandTotal);
  }

  onClick(ev) {
    let d = this.hit(ev);
    // "other" (merged small nodes) stands for its parent's remaining children: select the parent.
    while (d && d.data.func == null && d.parent) d = d.parent;
    if (!d) return;
    const n = d.data;
    if (n.func != null) this.onSelect(n.func);
    // Drill down into the clicked node (its parent for a leaf, so the leaf stays in view).
    const target = d.children ? d : d.parent;
    if (target && target.depth > 0 && target.data.func != null) this.onZoom(target.data.path);
  }
}

/**
 * plop's bubble call graph: one circle per function (area ∝ own cost), an edge per caller→callee
 * (width ∝ inclusive cost), laid out by d3-force from a seeded start so a link shows the same picture.
 */
export class BubbleGraph {
  constructor(container, onSelect) {
    this.container = container;
    this.onSelect = onSelect;
    this.canvas = el('canvas', 'bubble-canvas');
    this.tip = el('div', 'tooltip');
    this.tip.style.display = 'none';
    this.notice = el('div', 'chart-notice');
    container.replaceChildren(this.canvas, this.tip, this.notice);
    this.ctx = this.canvas.getContext('2d');
    this.selected = null;
    this.search = '';
    this.transform = d3().zoomIdentity;
    this.colorer = makeColorer();
    this.dragging = null;
    const sel = d3().select(this.canvas);
    this.zoom = d3().zoom().scaleExtent([0.1, 12])
      .filter((ev) => !this.dragging && (ev.type === 'wheel' || !this.hitNode(ev)))
      .on('zoom', (ev) => { this.transform = ev.transform; this.draw(); });
    sel.call(this.zoom);
    this.canvas.addEventListener('mousedown', (ev) => this.onDown(ev));
    window.addEventListener('mousemove', this.moveHandler = (ev) => this.onDrag(ev));
    window.addEventListener('mouseup', this.upHandler = () => { this.dragging = null; });
    this.canvas.addEventListener('mousemove', (ev) => this.onMove(ev));
    this.canvas.addEventListener('mouseleave', () => { this.tip.style.display = 'none'; });
    this.canvas.addEventListener('click', (ev) => { const n = this.hitNode(ev); if (n && !this.moved) this.onSelect(n.id); });
    this.resizeObserver = new ResizeObserver(() => { this.resize(); this.draw(); });
    this.resizeObserver.observe(container);
  }

  destroy() {
    this.resizeObserver.disconnect();
    window.removeEventListener('mousemove', this.moveHandler);
    window.removeEventListener('mouseup', this.upHandler);
    if (this.sim) this.sim.stop();
    this.container.replaceChildren();
  }

  resize() {
    this.W = Math.max(100, this.container.clientWidth);
    this.H = Math.max(100, this.container.clientHeight);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.W * dpr); this.canvas.height = Math.round(this.H * dpr);
    this.canvas.style.width = `${this.W}px`; this.canvas.style.height = `${this.H}px`;
  }

  /** Takes a graph `{unit, nodes:[{id,name,file,line,self_value,total,package}], edges:[{source,target,weight}], capped}`. */
  setData(json) {
    const g = JSON.parse(json);
    this.unit = g.unit;
    this.resize();
    const W = this.W, H = this.H;
    const nodes = g.nodes.map((n) => ({ ...n }));
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const edges = g.edges.filter((e) => byId.has(e.source) && byId.has(e.target) && e.source !== e.target)
      .map((e) => ({ ...e }));
    const maxSelf = d3().max(nodes, (n) => n.self_value) || 1;
    const maxW = d3().max(edges, (e) => e.weight) || 1;
    const rMax = Math.max(14, Math.min(W, H) / Math.max(6, Math.sqrt(nodes.length) * 1.6));
    const r = d3().scaleSqrt().domain([0, maxSelf]).range([2.5, rMax]);
    this.width = d3().scaleLinear().domain([0, maxW]).range([0.4, 7]);
    // Seeded start positions: a deterministic phyllotaxis spiral, then a fixed number of ticks.
    nodes.forEach((n, i) => {
      n.r = r(Math.max(0, n.self_value));
      const a = i * 2.399963229728653, rad = 8 * Math.sqrt(i + 0.5);
      n.x = W / 2 + rad * Math.cos(a); n.y = H / 2 + rad * Math.sin(a);
    });
    this.nodes = nodes;
    this.edges = edges;
    this.container.dataset.nodes = String(nodes.length);
    this.notice.textContent = g.capped ? `Showing the top ${nodes.length} of ${g.available} functions by own cost.` : '';
    if (this.sim) this.sim.stop();
    this.sim = d3().forceSimulation(nodes)
      .randomSource(d3().randomLcg(42))
      .force('link', d3().forceLink(edges).id((n) => n.id).distance((e) => e.source.r + e.target.r + 30).strength(0.25))
      .force('charge', d3().forceManyBody().strength((n) => -30 - n.r * 3).theta(0.9))
      .force('collide', d3().forceCollide((n) => n.r + 2).iterations(2))
      .force('x', d3().forceX(W / 2).strength(0.04))
      .force('y', d3().forceY(H / 2).strength(0.06))
      .stop();
    const ticks = nodes.length > 800 ? 120 : 300;
    for (let i = 0; i < ticks; i++) this.sim.tick();
    this.fit();
    this.draw();
  }

  fit() {
    if (!this.nodes.length) return;
    const x0 = d3().min(this.nodes, (n) => n.x - n.r), x1 = d3().max(this.nodes, (n) => n.x + n.r);
    const y0 = d3().min(this.nodes, (n) => n.y - n.r), y1 = d3().max(this.nodes, (n) => n.y + n.r);
    const k = Math.min(4, 0.95 * Math.min(this.W / (x1 - x0 || 1), this.H / (y1 - y0 || 1)));
    const t = d3().zoomIdentity.translate(this.W / 2, this.H / 2).scale(k).translate(-(x0 + x1) / 2, -(y0 + y1) / 2);
    d3().select(this.canvas).call(this.zoom.transform, t);
  }

  setSelected(func) { this.selected = func; this.draw(); }
  setSearch(text) { this.search = (text || '').toLowerCase(); this.draw(); }

  draw() {
    if (!this.nodes) return 0;
    const t0 = performance.now();
    const ctx = this.ctx, dpr = window.devicePixelRatio || 1, t = this.transform;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.W, this.H);
    ctx.translate(t.x, t.y);
    ctx.scale(t.k, t.k);
    const sel = this.selected;
    const accent = cssVar('--accent', '#36f');
    ctx.strokeStyle = cssVar('--muted', '#999');
    for (const e of this.edges) {
      const hot = sel != null && (e.source.id === sel || e.target.id === sel);
      ctx.globalAlpha = hot ? 0.9 : 0.35;
      ctx.strokeStyle = hot ? accent : cssVar('--muted', '#999');
      ctx.lineWidth = this.width(e.weight) / Math.sqrt(t.k);
      ctx.beginPath();
      ctx.moveTo(e.source.x, e.source.y);
      ctx.lineTo(e.target.x, e.target.y);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    const dim = cssVar('--bg3', '#eee');
    const search = this.search;
    for (const n of this.nodes) {
      const match = !search || n.name.toLowerCase().includes(search) || n.file.toLowerCase().includes(search);
      ctx.beginPath();
      ctx.arc(n.x, n.y, n.r, 0, 2 * Math.PI);
      ctx.fillStyle = match ? this.colorer(n.name, n.package, false) : dim;
      ctx.fill();
      ctx.lineWidth = (n.id === sel ? 3 : 0.6) / t.k;
      ctx.strokeStyle = n.id === sel ? accent : 'rgba(0,0,0,0.4)';
      ctx.stroke();
    }
    // Labels: largest circles first, skipping any that would overlap a label already drawn.
    ctx.font = FONT;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const placed = [];
    const order = this.nodes.slice().sort((a, b) => b.r - a.r);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = cssVar('--fg', '#111');
    ctx.strokeStyle = cssVar('--bg', '#fff');
    ctx.lineWidth = 3;
    ctx.lineJoin = 'round';
    for (const n of order) {
      const sx = t.applyX(n.x), sy = t.applyY(n.y), sr = n.r * t.k;
      // Largest first; small circles get a label too while there is room (at most 80 labels).
      if ((sr < 3 || placed.length >= 80) && n.id !== sel) continue;
      const label = n.name.length > 28 ? n.name.slice(0, 27) + '…' : n.name;
      const w = ctx.measureText(label).width;
      // Inside a big circle the label is centred; beside a small one it sits below it.
      const ly = sr >= 9 ? sy : sy + sr + 7;
      const box = [sx - w / 2 - 2, ly - 7, sx + w / 2 + 2, ly + 7];
      if (placed.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
      placed.push(box);
      ctx.strokeText(label, sx, ly);
      ctx.fillText(label, sx, ly);
    }
    ctx.textAlign = 'start';
    const ds = this.container.dataset;
    ds.selectedNodes = String(this.nodes.filter((n) => n.id === sel).length);
    ds.matches = String(search ? this.nodes.filter((n) => n.name.toLowerCase().includes(search) || n.file.toLowerCase().includes(search)).length : 0);
    ds.labels = String(placed.length);
    this.lastFrameMs = performance.now() - t0;
    return this.lastFrameMs;
  }

  hitNode(ev) {
    if (!this.nodes) return null;
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = this.transform.invert([ev.clientX - r.left, ev.clientY - r.top]);
    let best = null;
    for (const n of this.nodes) if ((x - n.x) ** 2 + (y - n.y) ** 2 <= n.r * n.r) best = n;
    return best;
  }

  onDown(ev) {
    const n = this.hitNode(ev);
    this.moved = false;
    if (n) { this.dragging = n; ev.stopPropagation(); }
  }

  onDrag(ev) {
    if (!this.dragging) return;
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = this.transform.invert([ev.clientX - r.left, ev.clientY - r.top]);
    this.dragging.x = x; this.dragging.y = y;
    this.moved = true;
    this.draw();
  }

  onMove(ev) {
    const n = this.hitNode(ev);
    if (!n) { this.tip.style.display = 'none'; return; }
    const ins = this.edges.filter((e) => e.target === n).length;
    const outs = this.edges.filter((e) => e.source === n).length;
    fillTooltip(this.tip, n.name, n.line ? `${n.file}:${n.line}` : n.file,
      [['self', fmt(n.self_value, this.unit)], ['total', fmt(n.total, this.unit)], ['edges', `${ins} in · ${outs} out`]], null);
    placeTooltip(this.tip, this.container, ev);
  }
}

/** The one entry point the Rust wrapper uses: mounts a chart of `kind` in `container`. */
export function mountChart(kind, container, onSelect, onZoom) {
  switch (kind) {
    case 'icicle': return new Icicle(container, false, onSelect, onZoom);
    case 'flame': return new Icicle(container, true, onSelect, onZoom);
    case 'diff-flame': return new DiffIcicle(container, true, onSelect, onZoom);
    case 'diff-icicle': return new DiffIcicle(container, false, onSelect, onZoom);
    case 'circle-pack': return new TreeChart(container, 'pack', onSelect, onZoom);
    case 'squaremap': return new TreeChart(container, 'treemap', onSelect, onZoom);
    case 'bubble-graph': return new BubbleGraph(container, onSelect);
    default: throw new Error(`unknown chart kind ${kind}`);
  }
}
