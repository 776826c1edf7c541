// The operator console: renders the state `/console/events` sends each second. Plain DOM, no
// dependencies; every value is set as text, never parsed as HTML.
const $ = (id) => document.getElementById(id)
const finalStatuses = ['shipped', 'out_of_stock', 'payment_failed', 'cancelled']
let openOrder = null

function connect() {
  const source = new EventSource('/console/events')
  source.addEventListener('open', () => setConnection('live', 'live'))
  source.addEventListener('error', () => setConnection('reconnecting', 'reconnecting…'))
  source.addEventListener('state', (event) => render(JSON.parse(event.data)))
}

function setConnection(state, text) {
  const el = $('connection')
  if (el.dataset.state === state) return
  el.dataset.state = state
  el.textContent = text
}

function render(state) {
  const seconds = state.seconds
  const last = seconds[seconds.length - 1] ?? { accepted: 0, completed: 0, p50Ms: null, p99Ms: null }
  $('accepted-now').textContent = String(last.accepted)
  $('completed-now').textContent = String(last.completed)
  const latest = [...seconds].reverse().find((s) => s.p50Ms !== null)
  $('p50-now').textContent = latest ? ms(latest.p50Ms) : '–'
  $('p99-now').textContent = latest ? ms(latest.p99Ms) : '–'
  chart($('accepted-chart'), [seconds.map((s) => s.accepted)])
  chart($('completed-chart'), [seconds.map((s) => s.completed)])
  chart($('latency-chart'), [seconds.map((s) => s.p50Ms ?? 0), seconds.map((s) => s.p99Ms ?? 0)])
  syncRows($('outcomes'), finalStatuses.map((status) => [status, state.outcomes[status] ?? 0]), ([status]) => status, ([status, n]) => [{ status, text: status }, { text: String(n), className: 'num' }], 'li', 'span')

  syncRows($('orders-rows'), state.orders, (o) => o.orderId, (o) => [
    { key: o.orderId, node: () => orderButton(o.orderId) },
    { text: o.userId },
    { status: o.status, text: o.reason ? `${o.status}: ${o.reason}` : o.status },
    { text: o.total === undefined ? '' : money(o.total, o.currency), className: 'num' },
    { text: clock(o.at), className: 'time' },
  ])
  if (openOrder && state.orders.some((o) => o.orderId === openOrder && finalStatuses.includes(o.status) && $('order-detail').dataset.status !== o.status)) showOrder(openOrder, false)

  syncRows($('stock-rows'), state.stock, (s) => s.sku, (s) => [{ text: s.sku }, { text: String(s.available), className: 'num' }, { text: String(s.reserved), className: 'num' }])
  syncRows($('lag-rows'), state.lag, (g) => g.group, (g) => [{ text: g.group }, { text: String(g.lag), className: 'num' }, { text: String(g.partitions), className: 'num' }])
  syncRows($('process-rows'), state.processes, (p) => p.id, (p) => {
    const health = p.silent ? 'silent' : p.ready ? 'ready' : 'not ready'
    return [
      { text: `${p.host} pid ${p.pid} (${p.runtime}) ${p.url}` },
      { text: p.roles.join(', ') },
      { status: health, text: p.silent || p.ready ? health : `${health}: ${p.reasons.join('; ')}` },
      { text: clock(p.at), className: 'time' },
    ]
  })
  syncRows($('dlq-rows'), state.deadLetters, (d) => `${d.partition}:${d.offset}`, (d) => [
    { text: clock(d.at), className: 'time' },
    { text: `${d.origin.topic}:${d.origin.partition}@${d.origin.offset}`, className: 'mono' },
    { text: d.group },
    { text: `${d.errorCode}: ${d.error}` },
    { text: String(d.attempts), className: 'num' },
    { text: d.key ?? '' },
    d.replayed
      ? { status: 'replayed', text: `replayed ${clock(d.replayed.at)}` }
      : { key: 'replay', node: () => replayButton(d) },
  ])
}

/** Keeps one row per key, made once (a focused button keeps its focus) and updated cell by cell. */
function syncRows(body, items, keyOf, cellsOf, rowTag = 'tr', cellTag = 'td') {
  const existing = new Map([...body.children].map((row) => [row.dataset.key, row]))
  let previous = null
  for (const item of items) {
    const key = keyOf(item)
    const cells = cellsOf(item)
    let row = existing.get(key)
    existing.delete(key)
    if (!row) {
      row = document.createElement(rowTag)
      row.dataset.key = key
      for (let i = 0; i < cells.length; i++) row.append(document.createElement(cellTag))
    }
    cells.forEach((cell, i) => updateCell(row.children[i], cell))
    const next = previous ? previous.nextElementSibling : body.firstElementChild
    if (next !== row) body.insertBefore(row, next)
    previous = row
  }
  for (const row of existing.values()) row.remove()
}

function updateCell(el, cell) {
  const signature = JSON.stringify([cell.text, cell.status, cell.key, cell.className])
  if (el.dataset.signature === signature) return
  el.dataset.signature = signature
  el.className = cell.className ?? ''
  if (cell.node) el.replaceChildren(cell.node())
  else if (cell.status) el.replaceChildren(badge(cell.status, cell.text))
  else el.textContent = cell.text
}

function badge(status, text) {
  const span = document.createElement('span')
  span.className = 'status'
  span.dataset.status = status
  span.textContent = text
  return span
}

function orderButton(orderId) {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'link'
  button.textContent = orderId.slice(0, 8)
  button.title = orderId
  button.setAttribute('aria-label', `order ${orderId}: show its history`)
  button.addEventListener('click', () => showOrder(orderId, true))
  return button
}

async function showOrder(orderId, focus) {
  openOrder = orderId
  const panel = $('order-detail')
  const response = await fetch(`/orders/${encodeURIComponent(orderId)}`)
  const order = await response.json()
  if (openOrder !== orderId) return
  panel.hidden = false
  panel.dataset.status = order.status ?? ''
  $('detail-title').textContent = `Order ${orderId}`
  const fields = response.ok
    ? [['user', order.userId], ['status', order.status], ['total', order.total === undefined ? '' : money(order.total, order.currency)], ['reason', order.reason], ['carrier', order.carrier], ['tracking', order.trackingNumber], ['items', (order.items ?? []).map((i) => `${i.quantity} x ${i.sku}`).join(', ')]]
    : [['error', order.detail ?? order.title]]
  $('detail-fields').replaceChildren(...fields.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([name, value]) => [element('dt', name), element('dd', String(value))]))
  $('detail-history').replaceChildren(...(order.history ?? []).map((h) => element('li', `${clock(h.at)} ${h.status}${h.reason ? `: ${h.reason}` : ''}${h.note ? ` (${h.note})` : ''}`)))
  if (focus) panel.focus()
}

function replayButton(entry) {
  const button = document.createElement('button')
  button.type = 'button'
  button.textContent = 'Replay'
  button.setAttribute('aria-label', `replay the dead letter from ${entry.origin.topic} partition ${entry.origin.partition} offset ${entry.origin.offset}`)
  button.addEventListener('click', async () => {
    button.disabled = true
    const token = $('admin-token').value.trim()
    const response = await fetch(`/console/dead-letters/${entry.partition}/${entry.offset}/replay`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
    const body = await response.json().catch(() => ({}))
    const message = $('dlq-message')
    if (response.ok) {
      message.dataset.kind = 'ok'
      message.textContent = `Replayed to ${body.to.topic}:${body.to.partition}@${body.to.offset}.`
    } else {
      message.dataset.kind = 'error'
      message.textContent = `Replay refused (${response.status}): ${body.detail ?? body.title ?? response.statusText}`
      button.disabled = false
    }
  })
  return button
}

function chart(svg, series) {
  const max = Math.max(1, ...series.flat())
  const n = Math.max(2, series[0].length)
  svg.replaceChildren(...series.map((values, i) => {
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline')
    line.setAttribute('class', i === 0 ? 'a' : 'b')
    line.setAttribute('points', values.map((v, x) => `${(x * 300) / (n - 1)},${78 - (v / max) * 74}`).join(' '))
    return line
  }))
  svg.setAttribute('aria-label', `${svg.getAttribute('aria-label').split(':')[0]}: now ${series.map((s) => s[s.length - 1] ?? 0).join(' / ')}, peak ${max}`)
}

function element(tag, text) {
  const el = document.createElement(tag)
  el.textContent = text
  return el
}

const ms = (value) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`)
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false })
const money = (amount, currency) => `${amount.toFixed(2)} ${currency ?? ''}`.trim()

$('detail-close').addEventListener('click', () => {
  const panel = $('order-detail')
  panel.hidden = true
  const button = document.querySelector(`#orders-rows tr[data-key="${CSS.escape(openOrder)}"] button`)
  openOrder = null
  button?.focus()
})
connect()
