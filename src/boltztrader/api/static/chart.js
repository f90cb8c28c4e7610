// Small SVG charts drawn here (no library): a line over time with a last-value tag, a hover
// read-out, and optional buy/sell markers.

import { s } from './dom.js';

const PAD = { left: 6, top: 10, bottom: 20 };
const CHAR_PX = 6.7; // 10.5px monospace

function niceStep(span, count) {
  const raw = span / Math.max(count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400]
  .map((x) => x * 1000);

function clock(ms, withSeconds) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return withSeconds ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
    : `${p(d.getHours())}:${p(d.getMinutes())}`;
}

function decimalsFor(step) {
  return step >= 1 ? 0 : Math.min(8, Math.ceil(-Math.log10(step)));
}

/**
 * @param {object} o width, height, series [{t, v}] (t in ms), markers [{t, v, side, title}],
 *   color (CSS colour), label(v) for the tag and read-out.
 */
export function lineChart({ width, height, series, markers = [], color = '#4c8dff', label }) {
  const svg = s('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`,
                         role: 'img' });
  const points = series.filter((p) => Number.isFinite(p.v));
  const marks = markers.filter((m) => Number.isFinite(m.v) && Number.isFinite(m.t));
  if (!points.length && !marks.length) {
    svg.append(s('text', { x: width / 2, y: height / 2, class: 'chart-empty', 'text-anchor': 'middle' },
                 'waiting for data…'));
    return svg;
  }
  const ts = [...points.map((p) => p.t), ...marks.map((m) => m.t)];
  const vs = [...points.map((p) => p.v), ...marks.map((m) => m.v)];
  // A live chart: the newest point at the right edge, at least a minute shown.
  const t1 = Math.max(...ts);
  const t0 = Math.min(Math.min(...ts), t1 - 60000);
  let v0 = Math.min(...vs);
  let v1 = Math.max(...vs);
  const spread = v1 - v0;
  const pad = spread > 0 ? spread * 0.1 : Math.max(Math.abs(v1) * 0.001, 1e-6);
  v0 -= pad;
  v1 += pad;
  const fmt = label || ((v) => String(v));
  const vStep = niceStep(v1 - v0, 4);
  const digits = decimalsFor(vStep);
  const axisText = (v) => v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const widest = Math.max(axisText(v0).length, axisText(v1).length,
                          points.length ? fmt(points.at(-1).v).length : 0);
  const padRight = Math.ceil(widest * CHAR_PX) + 14;
  const plotW = Math.max(10, width - PAD.left - padRight);
  const plotH = Math.max(10, height - PAD.top - PAD.bottom);
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v) => PAD.top + (1 - (v - v0) / (v1 - v0)) * plotH;

  // grid and axes
  const grid = s('g', { class: 'chart-grid' });
  for (let v = Math.ceil(v0 / vStep) * vStep; v <= v1; v += vStep) {
    const yy = y(v);
    grid.append(s('line', { x1: PAD.left, x2: PAD.left + plotW, y1: yy, y2: yy }));
    grid.append(s('text', { x: PAD.left + plotW + 6, y: yy + 4, class: 'chart-axis' },
                  axisText(v)));
  }
  const tStep = TIME_STEPS.find((step) => (t1 - t0) / step <= Math.max(2, Math.floor(plotW / 90)))
    || TIME_STEPS.at(-1);
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    const xx = x(t);
    const text = clock(t, tStep < 60000);
    grid.append(s('line', { x1: xx, x2: xx, y1: PAD.top, y2: PAD.top + plotH, class: 'chart-vline' }));
    const half = (text.length * CHAR_PX) / 2;
    if (xx - half < 0 || xx + half > PAD.left + plotW) continue; // a label cut by the edge: left out
    grid.append(s('text', { x: xx, y: height - 5, class: 'chart-axis', 'text-anchor': 'middle' }, text));
  }
  svg.append(grid);

  // the line, a faint area under it, the last value's tag
  if (points.length) {
    const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
    const baseline = PAD.top + plotH;
    svg.append(s('path', { d: `${path}L${x(points.at(-1).t).toFixed(1)},${baseline}` +
                             `L${x(points[0].t).toFixed(1)},${baseline}Z`,
                           fill: color, 'fill-opacity': 0.08, stroke: 'none' }));
    svg.append(s('path', { d: path, fill: 'none', stroke: color, 'stroke-width': 1.5,
                           'stroke-linejoin': 'round' }));
    const last = points.at(-1);
    const ly = Math.min(Math.max(y(last.v), PAD.top + 8), PAD.top + plotH - 8);
    svg.append(s('line', { x1: PAD.left, x2: PAD.left + plotW, y1: y(last.v), y2: y(last.v),
                           stroke: color, 'stroke-opacity': 0.35, 'stroke-dasharray': '2 3' }));
    svg.append(s('rect', { x: PAD.left + plotW + 2, y: ly - 8, width: padRight - 4, height: 16, rx: 2,
                           fill: color }));
    svg.append(s('text', { x: PAD.left + plotW + 6, y: ly + 4, class: 'chart-tag' }, fmt(last.v)));
  }

  // fills: ▲ buy under the price, ▼ sell above it
  for (const m of marks) {
    const mx = x(m.t);
    const my = y(m.v);
    const buy = m.side !== 'sell';
    const d = buy ? `M${mx},${my + 3}l-5,9h10z` : `M${mx},${my - 3}l-5,-9h10z`;
    svg.append(s('path', { d, class: buy ? 'mark-buy' : 'mark-sell' }, s('title', {}, m.title || '')));
  }

  // hover read-out
  if (points.length) {
    const hover = s('g', { class: 'chart-hover', visibility: 'hidden' });
    const vline = s('line', { y1: PAD.top, y2: PAD.top + plotH });
    const dot = s('circle', { r: 3, fill: color });
    const text = s('text', { class: 'chart-readout', y: PAD.top + 10 });
    hover.append(vline, dot, text);
    const capture = s('rect', { x: PAD.left, y: PAD.top, width: plotW, height: plotH, fill: 'transparent' });
    capture.addEventListener('mousemove', (event) => {
      const box = svg.getBoundingClientRect();
      const t = t0 + ((event.clientX - box.left - PAD.left) / plotW) * (t1 - t0);
      let best = points[0];
      for (const p of points) if (Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
      const bx = x(best.t);
      vline.setAttribute('x1', bx);
      vline.setAttribute('x2', bx);
      dot.setAttribute('cx', bx);
      dot.setAttribute('cy', y(best.v));
      text.textContent = `${clock(best.t, true)}  ${fmt(best.v)}`;
      const left = bx > PAD.left + plotW / 2;
      text.setAttribute('x', left ? bx - 6 : bx + 6);
      text.setAttribute('text-anchor', left ? 'end' : 'start');
      hover.setAttribute('visibility', 'visible');
    });
    capture.addEventListener('mouseleave', () => hover.setAttribute('visibility', 'hidden'));
    svg.append(hover, capture);
  }
  return svg;
}
