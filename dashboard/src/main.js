import { html } from 'htm/preact'
import { render } from 'preact'
import { useEffect, useReducer, useState } from 'preact/hooks'
import { Session } from './session.js'
import { JobPage, Jobs, Login, Nodes, Queue } from './views.js'

// The page is served by the broker's HTTP listener: MQTT is at /mqtt on the same host and port.
const params = new URLSearchParams(location.search)
const namespace = params.get('ns') || 'edgerun'
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`

function route() {
  const match = /^#\/job\/(.+)$/.exec(location.hash)
  return match ? decodeURIComponent(match[1]) : undefined
}

function App() {
  // Kept in this page's memory only: a reload asks again, and no password is ever stored.
  const [credentials, setCredentials] = useState({})
  const [session, setSession] = useState(undefined)
  const [, redraw] = useReducer((n) => n + 1, 0)
  useEffect(() => {
    const s = new Session({ url, namespace, ...credentials })
    let frame = 0
    const onChange = () => (frame ||= requestAnimationFrame(() => ((frame = 0), redraw())))
    s.addEventListener('change', onChange)
    s.start()
    setSession(s)
    const onHash = () => {
      const id = route()
      if (id && s.job?.id !== id) void s.openJob(id)
      if (!id && s.job) s.closeJob()
    }
    window.addEventListener('hashchange', onHash)
    onHash()
    return () => (s.stop(), s.removeEventListener('change', onChange), window.removeEventListener('hashchange', onHash))
  }, [credentials])
  if (!session) return null
  const login = (username, password) => setCredentials({ username, password })
  const logout = () => setCredentials({})
  return html`<header>
      <h1>edgerun</h1>
      <span class="mono">${namespace}</span>
      <span class=${`status ${session.status}`} data-testid="status">${session.status}</span>
      ${session.username ? html`<span>as <b data-testid="user">${session.username}</b> <button onClick=${logout}>log out</button></span>` : ''}
      ${session.scope ? html`<span class="muted" data-testid="scope">${session.scope === 'admin' ? 'every job' : 'your jobs only'}</span>` : ''}
    </header>
    ${session.error && session.status !== 'denied' ? html`<p class="error banner" data-testid="error">${session.error}</p>` : ''}
    ${session.notice ? html`<p class="notice banner" data-testid="notice">${session.notice}</p>` : ''}
    ${session.status === 'denied'
      ? html`<main><${Login} onLogin=${login} error=${credentials.username ? session.error : undefined} /></main>`
      : session.job
        ? html`<main><${JobPage} session=${session} /></main>`
        : html`<main><${Nodes} session=${session} /><${Queue} session=${session} /><${Jobs} session=${session} /></main>`}`
}

render(html`<${App} />`, document.getElementById('app'))
