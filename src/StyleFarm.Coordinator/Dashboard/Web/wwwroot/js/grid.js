// How a sweep's jobs sit in the result grid (pure; no DOM). The same rules as the contact sheet and the report
// (Report/SweepGrid.cs): by default the two swept keys with the most distinct values are the axes (ties to the key
// earlier in the file), the earlier one down the rows; one key is one row; none is a single row of every job; every
// further key makes one section per combination of its values. Values keep the order the sweep expanded them.

/** The swept keys, in the file's order. */
export function sweptKeys(jobs) {
  const keys = [];
  for (const job of jobs) for (const key of Object.keys(job.sweptValues || {})) if (!keys.includes(key)) keys.push(key);
  return keys;
}

export function valueOf(job, key) {
  const v = job.sweptValues?.[key];
  return v === undefined || v === null ? '' : String(v);
}

/** The distinct values of a key, in expansion order. */
export function valuesOf(jobs, key) {
  const values = [];
  for (const job of jobs) {
    const v = valueOf(job, key);
    if (!values.includes(v)) values.push(v);
  }
  return values;
}

/** The default axes: { rows, cols } (either may be null). */
export function chooseAxes(jobs, keys = sweptKeys(jobs)) {
  if (keys.length === 0) return { rows: null, cols: null };
  if (keys.length === 1) return { rows: null, cols: keys[0] };
  const ranked = keys.map((key, order) => ({ key, order, distinct: valuesOf(jobs, key).length }))
    .sort((a, b) => b.distinct - a.distinct || a.order - b.order)
    .slice(0, 2)
    .sort((a, b) => a.order - b.order);
  return { rows: ranked[0].key, cols: ranked[1].key };
}

/**
 * Lays the jobs out: sections (one per combination of the keys on neither axis), each with its title, row values,
 * column values and cells[r][c] = job or null. With no axis at all, one row of every job in order.
 */
export function layout(jobs, rows, cols) {
  const keys = sweptKeys(jobs);
  const rest = keys.filter(k => k !== rows && k !== cols);
  if (!rows && !cols) {
    return { rest, sections: [{ title: '', rowValues: [''], colValues: jobs.map((_, i) => String(i + 1)), cells: [jobs.length ? [...jobs] : []] }] };
  }
  const rowValues = rows ? valuesOf(jobs, rows) : [''];
  const colValues = cols ? valuesOf(jobs, cols) : [''];
  const groups = new Map();
  for (const job of jobs) {
    const id = rest.map(k => valueOf(job, k)).join('\u0001');
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push(job);
  }
  const sections = [];
  for (const group of groups.values()) {
    const cells = rowValues.map(() => colValues.map(() => null));
    for (const job of group) {
      const r = rows ? rowValues.indexOf(valueOf(job, rows)) : 0;
      const c = cols ? colValues.indexOf(valueOf(job, cols)) : 0;
      if (!cells[r][c]) cells[r][c] = job;
    }
    const title = rest.map(k => `${k} = ${valueOf(group[0], k)}`).join(', ');
    sections.push({ title, rowValues, colValues, cells });
  }
  return { rest, sections };
}
