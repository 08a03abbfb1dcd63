// Stacked bar charts over time, drawn as inline SVG by hand (no library: nothing to load, and
// every label goes in through textContent, so a job name or log text can never become markup).
// Colours come from classes in console.css, which the Content-Security-Policy allows; no
// style attribute is written.

const SVG = 'http://www.w3.org/2000/svg';
const MAX_BUCKETS = 240;

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * Counts `items` into `buckets` equal slices of [from, to): one count per series key.
 * `timeOf(item)` gives epoch ms, `seriesOf(item)` the series key (or null to skip it).
 * Returns { from, to, width, counts: [{ start, values: {key: n} }] }.
 */
export function bucketize(items, { from, to, buckets, timeOf, seriesOf }) {
  const count = Math.max(1, Math.min(MAX_BUCKETS, Math.floor(buckets)));
  const span = Math.max(1, to - from);
  const width = span / count;
  const counts = Array.from({ length: count }, (_, i) => ({ start: from + i * width, values: {} }));
  for (const item of items) {
    const t = timeOf(item);
    const key = seriesOf(item);
    if (key === null || key === undefined || typeof t !== 'number' || t < from || t >= to) continue;
    const slot = counts[Math.min(count - 1, Math.floor((t - from) / width))];
    slot.values[key] = (slot.values[key] || 0) + 1;
  }
  return { from, to, width, counts };
}

/** A short clock label for an axis: time of day, with the date when the span is long. */
function tickLabel(ms, span) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return span > 36 * 3600 * 1000 ? `${d.getMonth() + 1}/${d.getDate()} ${time}` : time;
}

/**
 * A stacked bar chart of `data` (from bucketize). `series` is [{ key, label, className }],
 * drawn bottom-up in that order; `title` is the accessible name. Returns an <svg> element.
 */
export function stackedBars(data, series, { title, width = 760, height = 180 } = {}) {
  const pad = { left: 36, right: 8, top: 10, bottom: 34 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const totals = data.counts.map((c) => series.reduce((sum, s) => sum + (c.values[s.key] || 0), 0));
  const max = Math.max(1, ...totals);
  const root = svg('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', width, height,
  });
  root.append(svg('title', {}, title));

  // Horizontal grid with counts: 0, half and the top.
  for (const value of [0, Math.ceil(max / 2), max]) {
    const y = pad.top + plotH - (value / max) * plotH;
    root.append(
      svg('line', { class: 'chart-grid', x1: pad.left, x2: width - pad.right, y1: y, y2: y }),
      svg('text', { class: 'chart-label', x: pad.left - 4, y: y + 4, 'text-anchor': 'end' }, String(value)));
  }

  const slot = plotW / data.counts.length;
  const barW = Math.max(1, slot * 0.8);
  data.counts.forEach((bucket, i) => {
    let y = pad.top + plotH;
    const x = pad.left + i * slot + (slot - barW) / 2;
    for (const s of series) {
      const n = bucket.values[s.key] || 0;
      if (n === 0) continue;
      const h = (n / max) * plotH;
      y -= h;
      const bar = svg('rect', {
        class: `chart-bar ${s.className}`, x, y, width: barW, height: h, 'data-series': s.key, 'data-count': n,
      });
      bar.append(svg('title', {}, `${s.label}: ${n} (${tickLabel(bucket.start, data.to - data.from)})`));
      root.append(bar);
    }
  });

  // About five time ticks along the bottom.
  const every = Math.max(1, Math.round(data.counts.length / 5));
  for (let i = 0; i < data.counts.length; i += every) {
    const x = pad.left + i * slot;
    root.append(
      svg('line', { class: 'chart-axis', x1: x, x2: x, y1: pad.top + plotH, y2: pad.top + plotH + 4 }),
      svg('text', { class: 'chart-label', x, y: pad.top + plotH + 16, 'text-anchor': 'middle' },
        tickLabel(data.counts[i].start, data.to - data.from)));
  }
  root.append(svg('line', {
    class: 'chart-axis', x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH,
  }));

  // The legend, under the ticks.
  let lx = pad.left;
  for (const s of series) {
    const total = data.counts.reduce((sum, c) => sum + (c.values[s.key] || 0), 0);
    root.append(svg('rect', { class: `chart-bar ${s.className}`, x: lx, y: height - 11, width: 10, height: 10 }));
    const label = svg('text', { class: 'chart-label chart-legend', x: lx + 14, y: height - 2, 'data-series': s.key },
      `${s.label} ${total}`);
    root.append(label);
    lx += 24 + 8 * (s.label.length + String(total).length);
  }
  return root;
}
