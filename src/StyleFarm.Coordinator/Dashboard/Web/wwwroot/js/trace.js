// A job's loss trace, the CSV the engine writes (StyleFarm.Engine LossTrace): a header
// `step,total,content,style_<layer>…,tv`, then one row per step. Pure; no DOM.

/** Parses the CSV into { steps: [n…], series: [{ name, values: [number|null…] }…] }; names are total, content, style:<layer>…, tv. */
export function parseTrace(csv) {
  const lines = csv.split(/\r?\n/).filter(line => line.trim() !== '');
  if (lines.length === 0) return { steps: [], series: [] };
  const header = lines[0].split(',').map(h => h.trim());
  if (header[0] !== 'step') throw new Error(`not a loss trace: its header is "${lines[0].slice(0, 60)}"`);
  const names = header.slice(1).map(h => (h.startsWith('style_') ? `style:${h.slice('style_'.length)}` : h));
  const steps = [];
  const series = names.map(name => ({ name, values: [] }));
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const step = Number(cells[0]);
    if (!Number.isFinite(step)) continue;
    steps.push(step);
    series.forEach((s, i) => s.values.push(toNumber(cells[i + 1])));
  }
  return { steps, series };
}

// "NaN", "Infinity", "-Infinity" and "∞" (older .NET formats) are not plottable on a log scale: null leaves a gap.
function toNumber(text) {
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Only values a log axis can show (positive and finite); the rest become gaps. */
export function forLogScale(value) {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}
