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

/** Classifies a file as builtin, stdlib, site-packages or user code. */
export function classify(file) {
  if (!file || file === '~' || file.startsWith('<') || file === 'builtins') return 'builtin';
  if (/(site|dist)-packages/.test(file) || file.includes('/.venv/')) return 'site';
  if (/\/lib\/python\d+(\.\d+)?\//.test(file) || /^(threading|json|re|socket|selectors|queue|concurrent|importlib|asyncio|http|email|logging|collections|functools|typing|enum|abc|os|posixpath|genericpath|tokenize|inspect|ast|encodings|codecs|subprocess|multiprocessing|pathlib|random|string|textwrap|copy|contextlib|weakref|dataclasses|linecache|traceback|unittest|urllib|xml|zipfile|zlib|gzip|shutil|tempfile|argparse|pydoc|sre_\w+|_\w+)(\/|\.py|$)/.test(file)) return 'stdlib';
  if (/\.(so|dylib|dll)(\.|\b|$)/.test(file) || file.startsWith('[') || file.startsWith('0x')) return 'native';
  return 'user';
}

const PALETTE_VARS = { user: '--user', stdlib: '--stdlib', site: '--site', builtin: '--builtin', native: '--other', other: '--builtin' };

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
  return (name, file, isOther) => {
    const key = (isOther ? 'o' : '') + file + '\u0000' + name;
    let c = cache.get(key);
    if (c) return c;
    const pkg = isOther ? 'other' : classify(file);
    const b = base[pkg] || base.user;
    const h = hash(name);
    const shade = d3().hsl(b.h + ((h % 21) - 10), Math.max(0, Math.min(1, b.s * (0.75 + ((h >> 5) % 25) / 100))),
      Math.max(0.2, Math.min(0.8, b.l + (((h >> 10) % 17) - 8) / 100)));
    c = shade.formatHex();
    cache.set(key, c);
    return c;
  };
}

function fmt(v, unit) {
  if (v == null || Number.isNaN(v)) return '';
  if (unit === 'seconds') return v >= 1 ? `${v.toFixed(3)} s` : `${(v * 1000).toFixed(3)} ms`;
  if (unit === 'microseconds') return v >= 1e6 ? `${(v / 1e6).toFixed(3)} s` : `${(v / 1000).toFixed(2)} ms`;
  if (unit === 'bytes') return `${d3().format('.3~s')(v)}B`;
  return Number.isInteger(v) ? `${d3().format(',')(v)} samples` : `${v.toFixed(2)} samples`;
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
    this.mediaListener = () => { this.colorer = makeColorer(); this.draw(); };
    this.media.addEventListener('change', this.mediaListener);
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.media.removeEventListener('change', this.mediaListener);
    if (this.timer) this.timer.stop();
    this.container.replaceChildren();
  }

  /** Takes a TreeSlice (JSON text) and lays it out: x0 in value units, depth in rows. */
  setData(json) {
    const slice = JSON.parse(json);
    this.unit = slice.unit;
    this.grandTotal = slice.grand_total;
    this.estimated = slice.estimated;
    const nodes = slice.nodes;
    const next = new Float64Array(nodes.length); // running child offset per node
    let maxDepth = 0;
    for (const n of nodes) {
      if (n.parent == null) {
        n.x0 = 0;
      } else {
        const p = nodes[n.parent];
        n.x0 = p.x0 + next[n.parent];
        next[n.parent] += n.total;
      }
      n.lname = n.name.toLowerCase();
      n.lfile = n.file.toLowerCase();
      if (n.depth > maxDepth) maxDepth = n.depth;
    }
    this.nodes = nodes;
    this.maxDepth = maxDepth;
    const root = nodes[0];
    this.domain = root ? [root.x0, root.x0 + Math.max(root.total, 1e-300)] : [0, 1];
    if (this.timer) { this.timer.stop(); this.timer = null; }
    this.draw();
  }

  setSelected(func) { this.selected = func; this.draw(); }
  setSearch(text) { this.search = (text || '').toLowerCase(); this.draw(); }

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
    ctx.fillStyle = cssVar('--bg', '#fff');
    ctx.fillRect(0, 0, W, H);
    const x = d3().scaleLinear().domain(this.domain).range([0, W]);
    // The scale is affine: evaluate it in the loop as k * v + b.
    const b = x(0), k = x(1) - b;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const search = this.search;
    const fg = cssVar('--fg', '#000');
    const dim = cssVar('--bg3', '#eee');
    const selColor = cssVar('--accent', '#36f');
    const subPixel = new Float64Array(this.nodes.length);
    const nodes = this.nodes;
    const textFits = ctx.measureText('M').width;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const x0 = k * n.x0 + b;
      const w = k * n.total;
      if (x0 + w < 0 || x0 > W) continue;
      if (w < 1) {
        // Nodes narrower than a pixel are merged into one block under their parent.
        if (n.parent != null) subPixel[n.parent] += w;
        continue;
      }
      const y = this.rowY(n.depth, H);
      const match = search && (n.lname.includes(search) || n.lfile.includes(search));
      ctx.fillStyle = search && !match ? dim : this.colorer(n.name, n.file, n.func == null && n.parent != null);
      ctx.fillRect(x0, y, Math.max(w - 0.5, 0.5), ROW - 1);
      if (n.exactness !== 'exact' && w > 6) {
        // Estimated or cut: a hatch on the right edge says "not measured".
        ctx.fillStyle = 'rgba(0,0,0,0.22)';
        for (let hx = x0 + 3; hx < x0 + w - 2; hx += 6) ctx.fillRect(hx, y + ROW - 4, 3, 2);
      }
      if (n.func != null && n.func === this.selected) {
        ctx.strokeStyle = selColor;
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 + 1, y + 1, Math.max(w - 2.5, 1), ROW - 3);
      }
      if (w > textFits * 3) {
        const maxChars = Math.floor((w - 6) / textFits);
        let label = (n.exactness === 'estimated' ? '≈ ' : n.exactness === 'cut' ? '↻ ' : '') + n.name;
        if (label.length > maxChars) label = label.slice(0, Math.max(1, maxChars - 1)) + '…';
        ctx.fillStyle = search && !match ? cssVar('--muted', '#888') : '#111';
        ctx.fillText(label, Math.max(x0, 0) + 3, y + ROW / 2);
      }
    }
    ctx.fillStyle = cssVar('--muted', '#999');
    for (let i = 0; i < nodes.length; i++) {
      if (subPixel[i] >= 1) {
        const p = nodes[i];
        const y = this.rowY(p.depth + 1, H);
        const end = k * (p.x0 + p.total) + b;
        ctx.fillRect(end - subPixel[i] - 0.5, y, subPixel[i], ROW - 1);
      }
    }
    void fg;
    this.lastFrameMs = performance.now() - t0;
    return this.lastFrameMs;
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
      if (n.depth === depth && v >= n.x0 && v < n.x0 + n.total) return i;
    }
    return -1;
  }

  onMove(ev) {
    const i = this.hit(ev);
    this.hover = i;
    if (i < 0) { this.tip.style.display = 'none'; return; }
    const n = this.nodes[i];
    const pct = this.grandTotal ? `${(100 * n.total / this.grandTotal).toFixed(2)} %` : '';
    const rows = [['total', `${fmt(n.total, this.unit)}  (${pct})`], ['self', fmt(n.self_value, this.unit)]];
    if (n.calls != null) rows.push(['calls', `${n.exactness === 'exact' ? '' : '≈ '}${Math.round(n.calls).toLocaleString()}`]);
    if (n.total_min != null && n.total_max != null && n.exactness !== 'exact') {
      rows.push(['bounds', `${fmt(n.total_min, this.unit)} … ${fmt(n.total_max, this.unit)}`]);
    }
    const note = n.exactness === 'estimated' ? 'Estimated: pstats has caller→callee edges, not stacks; this share is split in proportion to the edge data.'
      : n.exactness === 'cut' ? 'Recursion cycle cut here.' : n.truncated ? 'More detail below: click to zoom.' : null;
    const loc = n.func == null ? '' : (n.line ? `${n.file}:${n.line}` : n.file);
    fillTooltip(this.tip, n.name, loc, rows, note);
    placeTooltip(this.tip, this.container, ev);
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
    const target = [n.x0, n.x0 + Math.max(n.total, 1e-300)];
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

  /** Draws `frames` zoom frames over the current data and returns the slowest frame in ms. */
  benchZoom(frames) {
    const root = this.nodes[0];
    if (!root) return 0;
    let worst = 0;
    for (let f = 0; f < frames; f++) {
      const t = f / Math.max(1, frames - 1);
      const w = root.total * (1 - 0.9 * t);
      this.domain = [root.x0 + (root.total - w) * 0.5, root.x0 + (root.total + w) * 0.5];
      worst = Math.max(worst, this.draw());
    }
    this.domain = [root.x0, root.x0 + root.total];
    this.draw();
    return worst;
  }
}
