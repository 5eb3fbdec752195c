import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { RateChart } from './chart.js'
import { ago, list, rate, time } from './format.js'
import { isFinal } from './session.js'

const JOB_STATES = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'timed_out', 'canceled']
const KINDS = ['judge', 'command', 'noop']

export function Nodes({ session }) {
  const nodes = [...session.nodes.values()].sort((a, b) => a.id.localeCompare(b.id))
  return html`<section class="panel" data-testid="nodes">
    <h2>Nodes <small>${nodes.filter((n) => n.state !== 'offline').length} up of ${nodes.length}</small></h2>
    <table>
      <thead><tr><th>node</th><th>state</th><th>slots busy/total</th><th>labels</th><th>languages</th><th>commands</th><th>since</th><th></th></tr></thead>
      <tbody>
        ${nodes.map(
          (n) => html`<tr key=${n.id} data-node=${n.id} data-state=${n.state}>
            <td class="mono">${n.id}</td>
            <td><span class=${`badge ${n.state}`} data-field="state">${n.state}</span>${n.reason && n.state === 'offline' ? html` <small>${n.reason}</small>` : ''}</td>
            <td data-field="slots">${n.state === 'offline' ? 0 : (n.busy ?? 0)}/${n.slots ?? '?'}</td>
            <td>${list(n.labels)}</td>
            <td>${list(n.languages)}</td>
            <td>${list(n.commands)}</td>
            <td title=${time(n.since)}>${ago(n.since)}</td>
            <td>${session.scope === 'admin' && n.state === 'online' ? html`<button data-action="drain" onClick=${() => session.drain(n.id)}>drain</button>` : ''}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`
}

export function Queue({ session }) {
  const stats = session.stats
  // A client reads no master stats: it counts its own jobs.
  const counts = stats?.jobs ?? countStates(session.jobs.values())
  const last = session.rateHistory.at(-1)
  return html`<section class="panel" data-testid="queue">
    <h2>Queue <small>${stats ? 'whole cluster' : 'your jobs'}</small></h2>
    <div class="counts">
      ${JOB_STATES.map((s) => html`<div class="count" data-count=${s}><b>${counts[s] ?? 0}</b><span>${s}</span></div>`)}
    </div>
    ${stats?.priorities?.length
      ? html`<table class="small"><thead><tr><th>priority</th><th>queued</th><th>assigned</th><th>running</th></tr></thead>
          <tbody>${stats.priorities.map((p) => html`<tr key=${p.priority}><td>${p.priority}</td><td>${p.queued}</td><td>${p.assigned}</td><td>${p.running}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">no live jobs by priority</p>`}
    <p class="muted">jobs/s: ${last ? `${rate(last[1])} submitted, ${rate(last[2])} finished` : '—'}</p>
    <${RateChart} history=${session.rateHistory} />
  </section>`
}

function countStates(jobs) {
  const counts = {}
  for (const job of jobs) counts[job.state] = (counts[job.state] ?? 0) + 1
  return counts
}

export function Jobs({ session }) {
  const { state, kind } = session.filter
  const [search, setSearch] = useState(session.filter.idPrefix)
  const rows = [...session.jobs.values()]
    .filter((j) => (!state || j.state === state) && (!kind || j.kind === kind) && (!session.filter.idPrefix || j.id.startsWith(session.filter.idPrefix)))
    .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
    .slice(0, 100)
  return html`<section class="panel wide" data-testid="jobs">
    <h2>Jobs <small>newest first</small></h2>
    <form class="filters" onSubmit=${(e) => (e.preventDefault(), session.setFilter({ idPrefix: search.trim() }))}>
      <select name="state" value=${state} onChange=${(e) => session.setFilter({ state: e.currentTarget.value })}>
        <option value="">every state</option>${JOB_STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <select name="kind" value=${kind} onChange=${(e) => session.setFilter({ kind: e.currentTarget.value })}>
        <option value="">every kind</option>${KINDS.map((k) => html`<option value=${k}>${k}</option>`)}
      </select>
      <input name="search" placeholder="job id (prefix)" value=${search} onInput=${(e) => setSearch(e.currentTarget.value)} />
      <button type="submit">search</button>
    </form>
    <table>
      <thead><tr><th>job</th><th>kind</th><th>state</th><th>verdict</th><th>priority</th><th>node</th><th>owner</th><th>created</th><th></th></tr></thead>
      <tbody>
        ${rows.map(
          (j) => html`<tr key=${j.id} data-job=${j.id} data-state=${j.state}>
            <td class="mono"><a href=${`#/job/${encodeURIComponent(j.id)}`}>${j.id}</a></td>
            <td>${j.kind}</td>
            <td><span class=${`badge ${j.state}`} data-field="state">${j.state}</span></td>
            <td data-field="verdict">${j.verdict ? html`<span class=${`verdict ${j.verdict}`}>${j.verdict}</span>` : ''}</td>
            <td>${j.priority}</td>
            <td class="mono">${j.node ?? '—'}</td>
            <td>${j.owner ?? '—'}</td>
            <td title=${time(j.createdAt)}>${ago(j.createdAt)}</td>
            <td>${isFinal(j.state) ? '' : html`<button data-action="cancel" onClick=${() => session.cancel(j.id)}>cancel</button>`}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${rows.length === 0 ? html`<p class="muted">no jobs</p>` : ''}
  </section>`
}

export function JobPage({ session }) {
  const page = session.job
  const view = page.view
  const tests = [...page.tests.values()].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
  return html`<section class="panel wide" data-testid="job-page" data-job-page=${page.id}>
    <h2><a href="#/">←</a> Job <span class="mono">${page.id}</span>
      ${view ? html` <span class=${`badge ${view.state}`} data-field="state">${view.state}</span>` : ''}
      ${view && !isFinal(view.state) ? html` <button data-action="cancel" onClick=${() => session.cancel(page.id)}>cancel</button>` : ''}
    </h2>
    ${page.error ? html`<p class="error">${page.error}</p>` : ''}
    ${view
      ? html`<dl class="facts">
          <dt>kind</dt><dd>${view.kind}</dd><dt>owner</dt><dd>${view.owner ?? '—'}</dd><dt>priority</dt><dd>${view.priority}</dd>
          <dt>attempts</dt><dd>${view.attempts} of ${view.maxAttempts}${view.lost ? ` (${view.lost} lost)` : ''}</dd>
          <dt>node</dt><dd class="mono">${view.node ?? '—'}</dd><dt>created</dt><dd>${time(view.createdAt)}</dd><dt>updated</dt><dd>${time(view.updatedAt)}</dd>
          ${view.error ? html`<dt>error</dt><dd>${view.error}</dd>` : ''}
        </dl>
        <h3>Attempts</h3>
        <table class="small" data-testid="attempts"><thead><tr><th>#</th><th>node</th><th>at</th><th>lost</th></tr></thead>
          <tbody>${(view.history ?? []).map(
            (a) => html`<tr key=${a.attempt}><td>${a.attempt}</td><td class="mono">${a.node}</td><td>${time(a.at)}</td>
              <td>${a.lost ? `${a.lost.kind}${a.lost.verdict ? ` (${a.lost.verdict})` : ''}: ${a.lost.reason}` : '—'}</td></tr>`,
          )}</tbody></table>
        ${view.kind === 'judge' || tests.length
          ? html`<h3>Tests</h3><table class="small" data-testid="tests"><thead><tr><th>#</th><th>name</th><th>verdict</th><th>time ms</th><th>memory KiB</th><th></th></tr></thead>
              <tbody>${tests.map(
                (t, i) => html`<tr key=${i} data-test=${t.name}><td>${(t.index ?? i) + 1}</td><td>${t.name}</td><td><span class=${`verdict ${t.verdict}`}>${t.verdict}</span></td>
                  <td>${t.timeMs}</td><td>${t.memoryKb}</td><td class="muted">${t.detail ?? ''}</td></tr>`,
              )}</tbody></table>`
          : ''}
        <h3>Live events</h3>
        ${page.events.length
          ? html`<ol class="events" data-testid="events">${page.events.map((e, i) => html`<li key=${i} data-event=${e.type}>${describe(e)}</li>`)}</ol>`
          : html`<p class="muted">none since this page opened</p>`}
        <h3>Output</h3>
        <pre data-testid="output">${view.output === undefined ? '(not final yet)' : JSON.stringify(view.output, null, 2)}</pre>
        <h3>Spec</h3>
        <pre data-testid="spec">${JSON.stringify(view.spec, null, 2)}</pre>`
      : html`<p class="muted">loading…</p>`}
  </section>`
}

export function Login({ onLogin, error }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  return html`<form class="panel login" data-testid="login" onSubmit=${(e) => (e.preventDefault(), onLogin(username, password))}>
    <h2>Log in</h2>
    <p class="muted">This broker needs a user name and password (edgerun users add).</p>
    ${error ? html`<p class="error">${error}</p>` : ''}
    <label>user name <input name="username" autocomplete="username" value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} /></label>
    <label>password <input name="password" type="password" autocomplete="current-password" value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
    <button type="submit">log in</button>
  </form>`
}

/** One line per job event, as the job page lists them. */
function describe(event) {
  if (event.type === 'result') return `result: ${event.state}${event.output?.verdict ? ` ${event.output.verdict}` : ''}${event.error ? ` (${event.error})` : ''}`
  if (event.type === 'progress') {
    const detail = event.detail
    if (detail && typeof detail === 'object' && typeof detail.verdict === 'string') return `test ${detail.name ?? (detail.index ?? 0) + 1}: ${detail.verdict}`
    if (detail && typeof detail === 'object' && Array.isArray(detail.tests)) return `tests ${detail.tests.map((t) => `${t.name}: ${t.verdict}`).join(', ')}`
    return `${event.state}${event.node ? ` on ${event.node}` : ''}${typeof detail === 'string' ? `: ${detail}` : ''}`
  }
  return event.type
}
