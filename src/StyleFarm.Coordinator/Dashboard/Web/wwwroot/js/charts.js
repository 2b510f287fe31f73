// Chart.js (vendored at /ui/vendor/chart.umd.min.js, loaded before the page's module as window.Chart) set up for
// the dashboard: loss curves on a log scale and the sweep's scatter of a setting against a final loss.

import { fmtLoss } from './dom.js';
import { forLogScale } from './trace.js';

const STYLE_COLOURS = ['#c0262d', '#d9731f', '#2a9d5b', '#7b3fc4', '#d63f8c', '#0f8c99', '#6b8e23', '#8c564b'];

function chartLibrary() {
  const Chart = globalThis.Chart;
  if (!Chart) throw new Error('Chart.js did not load (/ui/vendor/chart.umd.min.js)');
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#5a6370';
  Chart.defaults.borderColor = '#eceff2';
  return Chart;
}

// A log axis puts a tick at every 1…9 × 10^n; labelling 1, 2 and 5 keeps the labels apart.
function logTick(value) {
  const mantissa = Math.round(value / 10 ** Math.floor(Math.log10(value) + 1e-9));
  if (mantissa !== 1 && mantissa !== 2 && mantissa !== 5) return '';
  return Math.abs(Math.log10(value)) >= 4 ? value.toExponential(0) : String(Number(value.toPrecision(1)));
}

function colourOf(name, index) {
  if (name === 'total') return '#1a1e24';
  if (name === 'content') return '#1f6fd1';
  if (name === 'tv') return '#a86200';
  if (name === 'style') return '#c0262d';
  return STYLE_COLOURS[index % STYLE_COLOURS.length];
}

/** A line chart of losses against steps, log-scale y. set(steps, series) replaces what it shows. */
export function lossChart(canvas) {
  const Chart = chartLibrary();
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } },
        y: { type: 'logarithmic', title: { display: true, text: 'loss (log scale)' }, ticks: { callback: logTick, autoSkip: true } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 2 } },
        tooltip: { callbacks: { label: item => `${item.dataset.label}: ${fmtLoss(item.parsed.y)}` } },
        decimation: { enabled: true, algorithm: 'lttb', samples: 600 },
      },
    },
  });
  let styleIndex = 0;
  return {
    set(steps, series) {
      styleIndex = 0;
      chart.data.datasets = series.map(s => ({
        label: s.name,
        data: steps.map((step, i) => ({ x: step, y: forLogScale(s.values[i]) })),
        borderColor: colourOf(s.name, s.name.startsWith('style:') ? styleIndex++ : 0),
        backgroundColor: colourOf(s.name, styleIndex),
        borderWidth: s.name === 'total' ? 2.2 : 1.4,
        borderDash: s.name.startsWith('style:') ? [5, 3] : undefined,
        pointRadius: steps.length < 40 ? 2 : 0,
        spanGaps: false,
      }));
      chart.update('none');
    },
  };
}

/**
 * A scatter of one value per job. set({ points: [{ x, y, job }], xTitle, yTitle, categories }) where categories,
 * when given, makes x a category axis (text values in expansion order); onPick(job) on a click.
 */
export function scatterChart(canvas, onPick) {
  const Chart = chartLibrary();
  const chart = new Chart(canvas, {
    type: 'scatter',
    data: { datasets: [{ label: 'jobs', data: [], pointRadius: 5, pointHoverRadius: 7, backgroundColor: 'rgba(31,79,184,.65)', borderColor: '#1f4fb8' }] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: '' } },
        y: { type: 'logarithmic', title: { display: true, text: '' }, ticks: { callback: logTick, autoSkip: true } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: item => `${item.raw.label}: ${fmtLoss(item.raw.y)}` } },
      },
      onClick: (_event, elements) => {
        const point = elements[0] && chart.data.datasets[0].data[elements[0].index];
        if (point) onPick(point.job);
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length ? 'pointer' : 'default';
      },
    },
  });
  return {
    set({ points, xTitle, yTitle, categories, logX }) {
      if (categories) {
        chart.options.scales.x = { type: 'category', labels: categories, offset: true, title: { display: true, text: xTitle } };
      } else {
        chart.options.scales.x = { type: logX ? 'logarithmic' : 'linear', title: { display: true, text: xTitle }, ticks: logX ? { callback: logTick } : {} };
      }
      chart.options.scales.y.title.text = yTitle;
      chart.data.datasets[0].data = points.filter(p => forLogScale(p.y) !== null);
      chart.update('none');
    },
  };
}
