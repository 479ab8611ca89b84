// A small SVG line chart for benchmark results: panels stacked on one time axis, each with its
// own y axis (linear or log), series as polylines, dashed reference lines. No dependencies.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];

const xmlText = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** 1, 2, 5 x 10^n steps: about `count` ticks from 0 to max. */
function linearTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = 0; v <= max + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

const fmt = (v) => (v >= 1000 ? `${+(v / 1000).toPrecision(3)}k` : `${+v.toPrecision(3)}`);

/**
 * @param {{ title: string, xLabel: string, width?: number, panelHeight?: number,
 *   markers?: { x: number, label: string }[],
 *   panels: { title: string, unit: string, log?: boolean,
 *     series: { name: string, points: [number, number][], color?: string }[],
 *     lines?: { y: number, label: string }[] }[] }} chart
 * @returns {string} the SVG document
 */
export function svgChart({ title, xLabel, width = 960, panelHeight = 190, markers = [], panels }) {
  const left = 64;
  const right = 170;
  const top = 36;
  const gap = 46;
  const plotWidth = width - left - right;
  const height = top + panels.length * (panelHeight + gap) + 10;
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMin = Math.min(0, ...allX);
  const xMax = Math.max(1, ...allX, ...markers.map((m) => m.x));
  const sx = (x) => left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${xmlText(title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (panelHeight + gap) + 14;
    const values = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const lineValues = (panel.lines ?? []).map((l) => l.y);
    let sy;
    let ticks;
    if (panel.log) {
      const positive = [...values, ...lineValues].filter((v) => v > 0);
      const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
      const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, 10)));
      const span = Math.log10(hi) - Math.log10(lo);
      sy = (v) => y0 + panelHeight - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * panelHeight;
      ticks = [];
      for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
    } else {
      ticks = linearTicks(Math.max(...values, ...lineValues, 1) * 1.05);
      const max = ticks.at(-1);
      sy = (v) => y0 + panelHeight - (v / max) * panelHeight;
    }
    out.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${xmlText(panel.title)}</text>`);
    out.push(
      `<rect x="${left}" y="${y0}" width="${plotWidth}" height="${panelHeight}" fill="none" stroke="#999"/>`,
    );
    for (const t of ticks) {
      const y = sy(t).toFixed(1);
      out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      out.push(
        `<text x="${left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
      );
    }
    out.push(
      `<text transform="translate(14 ${y0 + panelHeight / 2}) rotate(-90)" text-anchor="middle">${xmlText(panel.unit)}</text>`,
    );
    for (const m of markers) {
      const x = sx(m.x).toFixed(1);
      out.push(
        `<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + panelHeight}" stroke="#888" stroke-dasharray="2 3"/>`,
      );
      if (i === 0) out.push(`<text x="${x}" y="${y0 + 12}" dx="3" fill="#555">${xmlText(m.label)}</text>`);
    }
    for (const line of panel.lines ?? []) {
      const y = sy(line.y).toFixed(1);
      out.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="#000" stroke-dasharray="6 4"/>`,
      );
      out.push(
        `<text x="${left + plotWidth - 4}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end">${xmlText(line.label)}</text>`,
      );
    }
    let legendY = y0 + 10;
    panel.series.forEach((series, j) => {
      const color = series.color ?? COLORS[j % COLORS.length];
      const points = series.points
        .filter(([, y]) => Number.isFinite(y) && (!panel.log || y > 0))
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join(' ');
      if (points) out.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
      out.push(
        `<line x1="${left + plotWidth + 8}" x2="${left + plotWidth + 24}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
        `<text x="${left + plotWidth + 28}" y="${legendY}" dominant-baseline="middle">${xmlText(series.name)}</text>`,
      );
      legendY += 15;
    });
    if (i === panels.length - 1) {
      for (const t of linearTicks(xMax - xMin, 10)) {
        const x = sx(xMin + t).toFixed(1);
        out.push(`<text x="${x}" y="${y0 + panelHeight + 14}" text-anchor="middle">${fmt(xMin + t)}</text>`);
      }
      out.push(
        `<text x="${left + plotWidth / 2}" y="${y0 + panelHeight + 30}" text-anchor="middle">${xmlText(xLabel)}</text>`,
      );
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
