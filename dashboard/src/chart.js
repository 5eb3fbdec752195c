import uPlot from 'uplot'
import { useEffect, useRef } from 'preact/hooks'
import { html } from 'htm/preact'

const WINDOW_S = 300
const clock = (s) => new Date(s * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/** jobs/s over the last minutes (one point a second), a small uPlot chart. */
export function RateChart({ history }) {
  const box = useRef(null)
  const plot = useRef(null)
  useEffect(() => {
    plot.current = new uPlot(
      {
        width: 420,
        height: 140,
        legend: { show: false },
        // Always the last five minutes, so the chart does not stretch a few seconds across its width.
        scales: {
          x: { time: true, range: () => [Date.now() / 1000 - WINDOW_S, Date.now() / 1000] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] },
        },
        axes: [
          { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, values: (_u, splits) => splits.map(clock) },
          { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, size: 40 },
        ],
        series: [{}, { label: 'submitted/s', stroke: '#5aa9ff', width: 2 }, { label: 'finished/s', stroke: '#4cd18a', width: 2 }],
      },
      [[], [], []],
      box.current,
    )
    return () => plot.current?.destroy()
  }, [])
  useEffect(() => {
    plot.current?.setData([history.map((p) => p[0]), history.map((p) => p[1]), history.map((p) => p[2])])
  }, [history.length, history.at(-1)])
  return html`<div class="chart" ref=${box} data-testid="rate-chart"></div>
    <p class="legend"><span class="submitted">━ submitted/s</span> <span class="finished">━ finished/s</span> <span class="muted">last 5 minutes</span></p>`
}
