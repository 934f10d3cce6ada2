/// The dashboard: one HTML page, its style and its script, as Swift string
/// constants rather than bundle resources, so the `careerlog` binary serves
/// it wherever it is copied (no resource bundle to find at run time).
///
/// Placeholders (replaced by `Dashboard`): `{{CSP}}` (report only: a meta
/// Content-Security-Policy), `{{CHART}}` (a `<script src>` to the Debian
/// copy of Chart.js, or the library inlined), `{{CONFIG}}` (JSON: datasets,
/// refresh period, embedded data for a report, the definitions).
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
{{CSP}}
<title>careerlog: career programme dashboard</title>
<style>
:root { --ink:#1d2430; --muted:#5b6675; --line:#d9dee5; --accent:#2f6fb3; --accent2:#d08a1e; --bad:#b3261e; --good:#1f7a4d; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { padding:14px 20px 8px; background:#fff; border-bottom:1px solid var(--line); }
h1 { font-size:20px; margin:0 0 4px; }
h2 { font-size:15px; margin:0 0 8px; display:flex; justify-content:space-between; align-items:baseline; gap:8px; }
.sub { color:var(--muted); }
.filters { display:flex; flex-wrap:wrap; gap:14px; margin-top:8px; align-items:center; }
.filters label { color:var(--muted); }
select { font:inherit; padding:2px 4px; }
#ops { display:flex; flex-wrap:wrap; gap:10px; padding:8px 20px; background:#eef2f7; border-bottom:1px solid var(--line); }
.op { background:#fff; border:1px solid var(--line); border-radius:6px; padding:4px 10px; }
.op b { display:block; font-size:16px; }
.op span { color:var(--muted); font-size:12px; }
.op.warn b { color:var(--bad); }
main { display:grid; grid-template-columns:repeat(auto-fit, minmax(440px, 1fr)); gap:14px; padding:14px 20px 30px; }
.panel { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
.panel.wide { grid-column:1 / -1; }
.chart { position:relative; height:260px; }
.note { color:var(--muted); font-size:12px; margin:6px 0 0; }
.error { color:var(--bad); font-size:13px; margin:6px 0 0; }
.def { font:inherit; font-size:12px; border:1px solid var(--line); background:#fff; border-radius:10px; padding:0 8px; cursor:pointer; color:var(--accent); white-space:nowrap; }
.headline { font-size:15px; margin:4px 0 8px; }
.headline b { font-size:22px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { padding:3px 6px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
th.sortable { cursor:pointer; user-select:none; }
th[aria-sort=ascending]::after { content:" \25B2"; }
th[aria-sort=descending]::after { content:" \25BC"; }
.scroll { max-height:340px; overflow:auto; }
details.table summary { cursor:pointer; color:var(--accent); font-size:12px; margin-top:6px; }
dialog { max-width:760px; width:92vw; border:1px solid var(--line); border-radius:8px; padding:18px 22px; }
dialog h3 { margin:14px 0 4px; font-size:14px; }
dialog li { margin:4px 0; }
dialog li.highlight { background:#fff4d6; }
code { background:#f0f2f5; padding:0 3px; border-radius:3px; }
</style>
{{CHART}}
</head>
<body>
<header>
  <h1>Career programme dashboard</h1>
  <div class="sub"><span id="as-of">Loading…</span> · <span id="updated"></span></div>
  <div class="filters">
    <label>Program <select id="filter-program"><option value="">All programs</option></select></label>
    <label>Cohorts from <select id="filter-from"><option value="">first</option></select></label>
    <label>to <select id="filter-to"><option value="">last</option></select></label>
    <button class="def" data-def="" type="button">All definitions</button>
  </div>
</header>
<section id="ops" aria-label="Operations">
  <div class="op" id="op-rate"><b>–</b><span>ingest, events/s</span></div>
  <div class="op" id="op-lag"><b>–</b><span>projection lag (largest)</span></div>
  <div class="op" id="op-last"><b>–</b><span>last event</span></div>
  <div class="op" id="op-head"><b>–</b><span>events in the log</span></div>
  <div class="op" id="op-ready"><b>–</b><span>ready</span></div>
</section>
<main>
  <section class="panel wide" id="panel-placement">
    <h2>Placement rate within 12 months, per cohort <button class="def" data-def="placement-rate" type="button">Definition</button></h2>
    <div class="chart"><canvas id="chart-placement" role="img" aria-label="Placement rate per cohort"></canvas></div>
    <p class="note">Striped bars are <b>open</b> cohorts: some enrollees' 12-month windows are still running, so their rate can still rise.</p>
    <p class="note" id="program-note" hidden></p>
    <details class="table"><summary>Show the numbers</summary><div class="scroll"><table id="table-placement"><thead><tr><th>Cohort</th><th>Enrolled</th><th>Placed ≤ 12 months</th><th>Rate</th><th>Window</th></tr></thead><tbody></tbody></table></div></details>
    <p class="error" hidden></p>
  </section>
  <section class="panel" id="panel-time">
    <h2>Time to placement, days, per cohort <button class="def" data-def="time-to-placement" type="button">Definition</button></h2>
    <div class="chart"><canvas id="chart-time" role="img" aria-label="Time to placement per cohort"></canvas></div>
    <p class="error" hidden></p>
  </section>
  <section class="panel" id="panel-uplift">
    <h2>Salary uplift, per cohort <button class="def" data-def="salary-uplift" type="button">Definition</button></h2>
    <div class="chart"><canvas id="chart-uplift" role="img" aria-label="Mean salary uplift per cohort"></canvas></div>
    <p class="error" hidden></p>
  </section>
  <section class="panel" id="panel-mentored">
    <h2>Mentored versus not mentored <button class="def" data-def="mentored" type="button">Definition</button></h2>
    <p class="headline" id="mentored-headline">–</p>
    <div class="chart" style="height:150px"><canvas id="chart-mentored" role="img" aria-label="Placement rate of mentored and not mentored enrollees"></canvas></div>
    <p class="error" hidden></p>
  </section>
  <section class="panel" id="panel-funnel">
    <h2>Application funnel, per month of the first send <button class="def" data-def="application-funnel" type="button">Definition</button></h2>
    <div class="chart"><canvas id="chart-funnel" role="img" aria-label="Application funnel per month"></canvas></div>
    <p class="error" hidden></p>
  </section>
  <section class="panel" id="panel-velocity">
    <h2>Learning velocity, per month <button class="def" data-def="learning-velocity" type="button">Definition</button></h2>
    <div class="chart"><canvas id="chart-velocity" role="img" aria-label="Learning velocity per month"></canvas></div>
    <p class="note">Per learner active in the month (who logged hours or completed something).</p>
    <p class="error" hidden></p>
  </section>
  <section class="panel wide" id="panel-mentors">
    <h2>Mentorship ROI, per mentor <button class="def" data-def="mentorship-roi" type="button">Definition</button></h2>
    <div class="scroll"><table id="table-mentors"><thead><tr>
      <th class="sortable" data-key="mentor_id">Mentor</th><th class="sortable" data-key="mentees">Mentees</th>
      <th class="sortable" data-key="sessions">Sessions</th><th class="sortable" data-key="hours">Hours</th>
      <th class="sortable" data-key="average_rating">Rating</th><th class="sortable" data-key="placed_within_12_months">Placed ≤ 12 m</th>
      <th class="sortable" data-key="placement_rate">Placement rate</th><th class="sortable" data-key="mean_uplift">Mean uplift</th>
      <th class="sortable" data-key="gain_per_hour">Gain per mentoring hour</th>
    </tr></thead><tbody></tbody></table></div>
    <p class="note" id="mentors-note"></p>
    <p class="error" hidden></p>
  </section>
</main>
<dialog id="definitions"><form method="dialog" style="float:right"><button class="def">Close</button></form><h2>How the figures are counted</h2><div id="definitions-body"></div></dialog>
<script type="application/json" id="careerlog-config">{{CONFIG}}</script>
<script>
{{SCRIPT}}
</script>
</body>
</html>
"""#

    static let script = #"""
'use strict';
(function () {
  const config = JSON.parse(document.getElementById('careerlog-config').textContent);
  const token = new URLSearchParams(location.search).get('token');
  const state = { data: {}, errors: {}, charts: {}, updates: 0, program: '', from: '', to: '',
                  sort: { key: 'placement_rate', dir: -1 }, lastError: null };
  // Tests and curious operators read the charts through this.
  window.careerlogDashboard = state;

  const palette = { blue: '#2f6fb3', orange: '#d08a1e', green: '#1f7a4d', grey: '#8a94a3', purple: '#7051a8' };
  const num = (v) => (v === null || v === undefined || v === '') ? null : Number(v);
  const pct = (v, digits = 1) => v === null ? '–' : (v * 100).toFixed(digits) + '%';
  const rowsOf = (name) => { const d = state.data[name]; return d && Array.isArray(d.rows) ? d.rows : []; };

  async function fetchDataset(name) {
    const spec = config.datasets[name];
    const url = new URL(spec.path, location.href);
    for (const [k, v] of Object.entries(spec.query || {})) url.searchParams.set(k, v);
    if (spec.programFilter && state.program) url.searchParams.set('program', state.program);
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const response = await fetch(url, { cache: 'no-store', headers });
    const text = await response.text();
    let body;
    try { body = JSON.parse(text); } catch (e) { throw new Error('the server answered something that is not JSON (HTTP ' + response.status + ')'); }
    if (!response.ok) throw new Error(body && body.message ? body.message : 'HTTP ' + response.status);
    return body;
  }

  // A report holds each program-filtered figure once per program (Dashboard.embeddedKey).
  function embedded(name) {
    const key = config.datasets[name].programFilter && state.program ? name + '@' + state.program : name;
    if (!(key in config.embedded)) throw new Error('this report holds no ' + name + ' figures for ' + state.program);
    return config.embedded[key];
  }

  async function refresh() {
    const names = Object.keys(config.datasets);
    await Promise.all(names.map(async (name) => {
      try {
        state.data[name] = config.embedded ? embedded(name) : await fetchDataset(name);
        state.errors[name] = null;
      } catch (e) {
        state.errors[name] = e.message;
      }
    }));
    render();
    state.updates += 1;
  }

  function showError(panelId, names) {
    const panel = document.getElementById(panelId);
    const message = names.map((n) => state.errors[n]).filter(Boolean).join('; ');
    const el = panel.querySelector('.error');
    el.hidden = !message;
    el.textContent = message ? 'Could not load: ' + message : '';
  }

  function chart(id, type, options) {
    if (state.charts[id]) return state.charts[id];
    const ctx = document.getElementById('chart-' + id);
    state.charts[id] = new Chart(ctx, { type, data: { labels: [], datasets: [] }, options: Object.assign({
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { position: 'bottom' } } }, options) });
    return state.charts[id];
  }

  function setData(c, labels, datasets) {
    c.data.labels = labels;
    c.data.datasets = datasets;
    c.update('none');
  }

  // Open cohorts are striped, so the mark survives printing in grey.
  let stripes = null;
  function openPattern() {
    if (stripes) return stripes;
    const tile = document.createElement('canvas');
    tile.width = 8; tile.height = 8;
    const g = tile.getContext('2d');
    g.fillStyle = '#a9c4e4'; g.fillRect(0, 0, 8, 8);
    g.strokeStyle = palette.blue; g.lineWidth = 2;
    g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.stroke();
    stripes = g.createPattern(tile, 'repeat');
    return stripes;
  }

  function inRange(cohort) {
    return (!state.from || cohort >= state.from) && (!state.to || cohort <= state.to);
  }

  function renderPlacement() {
    const rows = rowsOf('placement').filter((r) => inRange(r.cohort));
    const c = chart('placement', 'bar', {
      scales: { y: { min: 0, max: 100, title: { display: true, text: '% placed within 12 months' } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => {
        const r = item.chart.$rows[item.dataIndex];
        return pct(num(r.placement_rate)) + ' (' + r.placed_within_12_months + ' of ' + r.enrolled + ' enrollees' + (r.window_state === 'open' ? ', open' : '') + ')';
      } } } } });
    c.$rows = rows;
    setData(c, rows.map((r) => r.window_state === 'open' ? [r.cohort, '(open)'] : r.cohort), [{
      label: 'Placement rate', data: rows.map((r) => num(r.placement_rate) === null ? null : num(r.placement_rate) * 100),
      backgroundColor: rows.map((r) => r.window_state === 'open' ? openPattern() : palette.blue),
      borderColor: palette.blue, borderWidth: 1 }]);
    const body = document.querySelector('#table-placement tbody');
    body.replaceChildren(...rows.map((r) => tableRow([r.cohort, r.enrolled, r.placed_within_12_months, pct(num(r.placement_rate)), r.window_state])));
    const note = document.getElementById('program-note');
    const chosen = rowsOf('placementByProgram').find((r) => r.program === state.program);
    note.hidden = !state.program;
    if (state.program) {
      note.textContent = 'The per-cohort figures count ' + state.program + '\'s enrollees only. Overall: ' +
        (chosen ? pct(num(chosen.placement_rate)) + ' placed within 12 months (' + chosen.placed_within_12_months + ' of ' + chosen.enrolled + ').' : 'no enrollees.');
    }
    showError('panel-placement', ['placement', 'placementByProgram']);
  }

  function renderTime() {
    const rows = rowsOf('timeToPlacement').filter((r) => inRange(r.cohort));
    const c = chart('time', 'bar', { scales: { y: { min: 0, title: { display: true, text: 'days from enrollment' } } } });
    setData(c, rows.map((r) => r.cohort), [
      { label: 'Median', data: rows.map((r) => num(r.median_days)), backgroundColor: palette.blue },
      { label: '90th percentile', data: rows.map((r) => num(r.p90_days)), backgroundColor: palette.orange }]);
    showError('panel-time', ['timeToPlacement']);
  }

  function renderUplift() {
    const rows = rowsOf('uplift').filter((r) => inRange(r.cohort));
    const c = chart('uplift', 'bar', { scales: { y: { title: { display: true, text: 'mean uplift, %' } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => {
        const r = item.chart.$rows[item.dataIndex];
        return pct(num(r.mean_uplift)) + ' over ' + r.uplift_count + ' placements';
      } } } } });
    c.$rows = rows;
    setData(c, rows.map((r) => r.cohort), [{ label: 'Mean salary uplift',
      data: rows.map((r) => num(r.mean_uplift) === null ? null : num(r.mean_uplift) * 100), backgroundColor: palette.green }]);
    showError('panel-uplift', ['uplift']);
  }

  function renderMentored() {
    const r = rowsOf('mentorshipEffect')[0];
    const headline = document.getElementById('mentored-headline');
    const c = chart('mentored', 'bar', { indexAxis: 'y', scales: { x: { min: 0, max: 100, title: { display: true, text: '% placed within 12 months' } } },
      plugins: { legend: { display: false } } });
    if (!r) {
      headline.textContent = 'No enrollees yet.';
      setData(c, [], []);
    } else {
      const diff = num(r.difference_pp);
      headline.innerHTML = '';
      const b = document.createElement('b');
      b.textContent = diff === null ? '–' : (diff >= 0 ? '+' : '') + diff.toFixed(1) + ' points';
      headline.append(b, ' for mentored enrollees: ' + pct(num(r.mentored_rate)) + ' (' + r.mentored_placed + ' of ' + r.mentored_enrolled +
        ') versus ' + pct(num(r.not_mentored_rate)) + ' (' + r.not_mentored_placed + ' of ' + r.not_mentored_enrolled + ') not mentored.');
      setData(c, ['Mentored (' + r.mentored_enrolled + ')', 'Not mentored (' + r.not_mentored_enrolled + ')'], [{ label: 'Placement rate',
        data: [num(r.mentored_rate), num(r.not_mentored_rate)].map((v) => v === null ? null : v * 100),
        backgroundColor: [palette.purple, palette.grey] }]);
    }
    showError('panel-mentored', ['mentorshipEffect']);
  }

  function renderFunnel() {
    const rows = rowsOf('funnel');
    const c = chart('funnel', 'line', { scales: { y: { min: 0, title: { display: true, text: 'applications' } } } });
    const series = (key, label, color) => ({ label, data: rows.map((r) => num(r[key])), borderColor: color, backgroundColor: color, tension: 0.2 });
    setData(c, rows.map((r) => r.month), [series('sent', 'Sent', palette.blue), series('interview', 'Interview', palette.orange),
      series('offer', 'Offer', palette.purple), series('placed', 'Placed', palette.green)]);
    showError('panel-funnel', ['funnel']);
  }

  function renderVelocity() {
    const months = new Map();
    for (const r of rowsOf('velocity')) {
      const m = months.get(r.month) || { learners: 0, hours: 0, activities: 0, tasks: 0 };
      m.learners += 1; m.hours += num(r.hours) || 0; m.activities += num(r.activities_completed) || 0; m.tasks += num(r.tasks_completed) || 0;
      months.set(r.month, m);
    }
    const labels = [...months.keys()].sort();
    const per = (key) => labels.map((l) => { const m = months.get(l); return m.learners ? +(m[key] / m.learners).toFixed(2) : null; });
    const c = chart('velocity', 'line', { scales: { y: { min: 0, title: { display: true, text: 'per active learner' } } } });
    setData(c, labels, [
      { label: 'Hours', data: per('hours'), borderColor: palette.blue, backgroundColor: palette.blue, tension: 0.2 },
      { label: 'Activities completed', data: per('activities'), borderColor: palette.orange, backgroundColor: palette.orange, tension: 0.2 },
      { label: 'Tasks completed', data: per('tasks'), borderColor: palette.green, backgroundColor: palette.green, tension: 0.2 }]);
    showError('panel-velocity', ['velocity']);
  }

  const mentorRowsShownMax = 200;
  function gainText(value) {
    if (value === null || value === undefined) return '–';
    const object = typeof value === 'string' ? JSON.parse(value) : value;
    const keys = Object.keys(object).sort();
    return keys.length ? keys.map((k) => k + ' ' + (object[k] === null ? '–' : Number(object[k]).toFixed(2))).join(', ') : '–';
  }
  function gainSortValue(value) {
    if (value === null || value === undefined) return null;
    const object = typeof value === 'string' ? JSON.parse(value) : value;
    const values = Object.values(object).filter((v) => v !== null).map(Number);
    return values.length ? Math.max(...values) : null;
  }
  function renderMentors() {
    const { key, dir } = state.sort;
    const value = (r) => key === 'gain_per_hour' ? gainSortValue(r[key]) : key === 'mentor_id' ? r[key] : num(r[key]);
    const rows = rowsOf('mentorRoi').slice().sort((a, b) => {
      const x = value(a), y = value(b);
      if (x === y) return String(a.mentor_id) < String(b.mentor_id) ? -1 : 1;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    const shown = rows.slice(0, mentorRowsShownMax);
    document.querySelector('#table-mentors tbody').replaceChildren(...shown.map((r) => tableRow([
      r.mentor_id, r.mentees, r.sessions, fixed(r.hours, 1), fixed(r.average_rating, 2), r.placed_within_12_months,
      pct(num(r.placement_rate)), pct(num(r.mean_uplift)), gainText(r.gain_per_hour)])));
    for (const th of document.querySelectorAll('#table-mentors th.sortable')) {
      th.setAttribute('aria-sort', th.dataset.key === key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    document.getElementById('mentors-note').textContent = rows.length > shown.length
      ? 'Showing ' + shown.length + ' of ' + rows.length + ' mentors; click a column to sort.' : rows.length + ' mentors; click a column to sort.';
    showError('panel-mentors', ['mentorRoi']);
  }

  function fixed(v, digits) { const n = num(v); return n === null ? '–' : n.toFixed(digits); }
  function tableRow(cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) { const td = document.createElement('td'); td.textContent = cell === null || cell === undefined ? '–' : String(cell); tr.append(td); }
    return tr;
  }

  function renderOps() {
    const s = state.data.status;
    const set = (id, text, warn) => { const el = document.getElementById(id); el.querySelector('b').textContent = text; el.classList.toggle('warn', !!warn); };
    if (!s) { set('op-ready', state.errors.status ? 'unknown' : '–', true); return; }
    const rate = s.ingest ? num(s.ingest.events_per_second) : null;
    set('op-rate', rate === null ? '–' : Math.round(rate).toLocaleString('en'));
    const lagSeconds = num(s.projection_lag_seconds_max);
    set('op-lag', s.projection_lag_events_max + ' events' + (lagSeconds === null ? '' : ', ' + lagSeconds.toFixed(1) + ' s'), !s.ready);
    set('op-last', s.log && s.log.last_event_time ? s.log.last_event_time.replace('T', ' ').replace(/\.\d+/, '') : '–');
    set('op-head', s.log ? Number(s.log.head_seq).toLocaleString('en') : '–');
    set('op-ready', s.ready ? 'yes' : 'no', !s.ready);
    document.getElementById('op-ready').title = (s.reasons || []).join('\n');
  }

  function renderFilters() {
    const programs = rowsOf('placementByProgram').map((r) => r.program).filter(Boolean).sort();
    fillSelect('filter-program', programs, 'All programs', state.program);
    const cohorts = rowsOf('placement').map((r) => r.cohort).filter(Boolean).sort();
    fillSelect('filter-from', cohorts, 'first', state.from);
    fillSelect('filter-to', cohorts, 'last', state.to);
  }
  function fillSelect(id, values, allLabel, selected) {
    const select = document.getElementById(id);
    const current = [...select.options].map((o) => o.value).join('\n');
    if (current === ['', ...values].join('\n')) return;
    select.replaceChildren(new Option(allLabel, ''), ...values.map((v) => new Option(v, v)));
    select.value = values.includes(selected) ? selected : '';
  }

  function render() {
    const asOf = state.data.placement && state.data.placement.as_of;
    document.getElementById('as-of').textContent = asOf ? 'Figures as of ' + asOf.replace('T', ' ') : 'No figures yet';
    document.getElementById('updated').textContent = config.embedded
      ? 'report generated ' + config.generatedAt
      : 'updated ' + new Date().toLocaleTimeString('en-GB') + ', every ' + +(config.refreshMs / 1000).toFixed(1) + ' s';
    for (const step of [renderFilters, renderPlacement, renderTime, renderUplift, renderMentored, renderFunnel, renderVelocity, renderMentors, renderOps]) {
      try { step(); } catch (e) { state.lastError = String(e); console.error('dashboard: ' + step.name + ': ' + e); }
    }
  }

  // Definitions: the catalog's markdown, turned into a list once.
  function slug(text) { return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''); }
  function definitionsHTML(markdown) {
    const root = document.createElement('div');
    let list = null, item = null;
    const inline = (el, text) => {
      for (const part of text.split(/(\*\*[^*]+\*\*|`[^`]+`)/)) {
        if (part.startsWith('**')) { const b = document.createElement('strong'); b.textContent = part.slice(2, -2); el.append(b); if (el.tagName === 'LI' && !el.id) el.id = 'def-' + slug(part.slice(2, -2)); }
        else if (part.startsWith('`')) { const c = document.createElement('code'); c.textContent = part.slice(1, -1); el.append(c); }
        else el.append(part);
      }
    };
    for (const line of markdown.split('\n')) {
      if (line.startsWith('- ')) { item = document.createElement('li'); inline(item, line.slice(2)); list.append(item); }
      else if (line.startsWith('  ') && item) { inline(item, ' ' + line.trim()); }
      else if (line.trim() === '') { item = null; }
      else if (!line.startsWith(' ') && line.length < 40) { const h = document.createElement('h3'); h.textContent = line; root.append(h); list = document.createElement('ul'); root.append(list); item = null; }
      else { const p = document.createElement('p'); inline(p, line); root.append(p); item = null; list = document.createElement('ul'); root.append(list); }
    }
    return root;
  }
  const definitionFor = { 'placement-rate': 'def-placement-rate', 'time-to-placement': 'def-time-to-placement', 'salary-uplift': 'def-salary-uplift',
    'mentored': 'def-mentored', 'application-funnel': 'def-application-funnel', 'learning-velocity': 'def-learning-velocity', 'mentorship-roi': 'def-mentorship-roi' };
  function openDefinition(key) {
    const dialog = document.getElementById('definitions');
    const body = document.getElementById('definitions-body');
    if (!body.firstChild) body.append(definitionsHTML(config.definitions));
    for (const li of body.querySelectorAll('li.highlight')) li.classList.remove('highlight');
    dialog.showModal();
    const target = key && document.getElementById(definitionFor[key]);
    if (target) { target.classList.add('highlight'); target.scrollIntoView({ block: 'center' }); }
  }

  for (const button of document.querySelectorAll('button.def[data-def]')) button.addEventListener('click', () => openDefinition(button.dataset.def));
  for (const th of document.querySelectorAll('#table-mentors th.sortable')) {
    th.addEventListener('click', () => {
      state.sort = { key: th.dataset.key, dir: state.sort.key === th.dataset.key ? -state.sort.dir : (th.dataset.key === 'mentor_id' ? 1 : -1) };
      renderMentors();
    });
  }
  document.getElementById('filter-program').addEventListener('change', (e) => { state.program = e.target.value; refresh(); });
  document.getElementById('filter-from').addEventListener('change', (e) => { state.from = e.target.value; render(); });
  document.getElementById('filter-to').addEventListener('change', (e) => { state.to = e.target.value; render(); });

  // Polling, not server-sent events: one GET per dataset every few seconds
  // costs the node nothing measurable, survives proxies and restarts, and
  // needs no open connection per viewer.
  async function poll() {
    await refresh();
    if (!config.embedded) setTimeout(poll, config.refreshMs);
  }
  poll();
})();
"""#
}
