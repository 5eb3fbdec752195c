export function ago(ms, now = Date.now()) {
  if (!ms) return '—'
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`
  return `${Math.floor(s / 86400)}d ago`
}

export const time = (ms) => (ms ? new Date(ms).toLocaleString() : '—')
export const list = (values) => (values && values.length ? values.join(', ') : '—')
export const rate = (value) => (value >= 10 ? value.toFixed(0) : value.toFixed(1))
