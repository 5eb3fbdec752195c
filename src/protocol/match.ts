/** MQTT 3.1.1 topic-filter matching (`+` one level, `#` the rest), per the spec's rules. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true
  // Wildcards never match topics that start with $ (MQTT-4.7.2-1).
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}
