// Live tickers from /ws/tickers: a row per symbol with bid, ask, last, change and a
// sparkline of the mid. Messages are coalesced: the socket handler only keeps the
// latest ticker per symbol, and the table is redrawn at most once per animation frame
// (and no more often than every REDRAW_MS), so the page stays smooth at any feed rate.

import { $, h, price, signed, tone } from "./dom.js";

const REDRAW_MS = 150;
const SPARK_POINTS = 60;
const SPARK_W = 96;
const SPARK_H = 24;
const SVG = "http://www.w3.org/2000/svg";

export class TickerBoard {
  constructor(client, { onSelect, onStatus }) {
    this.client = client;
    this.onSelect = onSelect;
    this.onStatus = onStatus;
    this.latest = new Map(); // symbol -> ticker
    this.pending = new Map(); // symbol -> ticker not drawn yet
    this.first = new Map(); // symbol -> first price seen (the change's base)
    this.history = new Map(); // symbol -> recent mids
    this.rows = new Map(); // symbol -> {row, cells}
    this.listeners = new Set();
    this.scheduled = false;
    this.lastDraw = 0;
    this.retryMs = 500;
    this.closed = false;
  }

  start() {
    this.connect();
  }

  stop() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }

  symbols() {
    return [...this.latest.keys()].sort();
  }

  get(symbol) {
    return this.latest.get(symbol);
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect() {
    const socket = this.client.socket("/ws/tickers");
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.retryMs = 500;
      this.onStatus("live");
      socket.send(JSON.stringify({ op: "subscribe" }));
    };
    socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
      const message = JSON.parse(text);
      if (!Array.isArray(message)) return; // {"error": ...} for a bad subscribe
      for (const ticker of message) this.pending.set(ticker.symbol, ticker);
      this.schedule();
    };
    socket.onclose = () => {
      if (this.closed) return;
      this.onStatus("reconnecting");
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 8000);
    };
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - this.lastDraw));
    setTimeout(() => requestAnimationFrame(() => this.draw()), wait);
  }

  draw() {
    this.scheduled = false;
    this.lastDraw = performance.now();
    const batch = this.pending;
    this.pending = new Map();
    for (const [symbol, ticker] of batch) {
      this.latest.set(symbol, ticker);
      const mid = midOf(ticker);
      const reference = ticker.last ?? mid;
      if (reference !== null && !this.first.has(symbol)) this.first.set(symbol, reference);
      if (mid !== null) {
        const points = this.history.get(symbol) || [];
        points.push(mid);
        if (points.length > SPARK_POINTS) points.shift();
        this.history.set(symbol, points);
      }
      this.drawRow(symbol, ticker);
    }
    for (const listener of this.listeners) listener(batch);
  }

  drawRow(symbol, ticker) {
    let entry = this.rows.get(symbol);
    if (!entry) {
      entry = this.addRow(symbol);
    }
    const { cells, row } = entry;
    const previous = entry.mid;
    const mid = midOf(ticker);
    cells.bid.textContent = price(ticker.bid);
    cells.ask.textContent = price(ticker.ask);
    cells.last.textContent = price(ticker.last);
    const base = this.first.get(symbol);
    const now = ticker.last ?? mid;
    const change = base !== undefined && now !== null ? now - base : null;
    cells.change.textContent = change === null ? "—" : signed(change);
    cells.change.className = `num ${tone(change)}`;
    cells.spark.replaceChildren(sparkline(this.history.get(symbol) || []));
    if (previous !== undefined && mid !== null && mid !== previous) {
      row.classList.remove("tick-up", "tick-down");
      void row.offsetWidth; // restart the flash animation
      row.classList.add(mid > previous ? "tick-up" : "tick-down");
    }
    entry.mid = mid;
  }

  addRow(symbol) {
    const cells = {
      bid: h("td", { class: "num", "data-field": "bid" }),
      ask: h("td", { class: "num", "data-field": "ask" }),
      last: h("td", { class: "num", "data-field": "last" }),
      change: h("td", { class: "num", "data-field": "change" }),
      spark: h("td", { class: "spark", "aria-hidden": "true" }),
    };
    const button = h(
      "button",
      { type: "button", class: "link", title: `Trade ${symbol}`, onclick: () => this.onSelect(symbol) },
      symbol,
    );
    const row = h(
      "tr",
      { "data-symbol": symbol },
      h("th", { scope: "row" }, button),
      cells.bid,
      cells.ask,
      cells.last,
      cells.change,
      cells.spark,
    );
    const body = $("#tickers tbody");
    const after = [...body.children].find((r) => r.dataset.symbol > symbol);
    body.insertBefore(row, after || null);
    const entry = { row, cells, mid: undefined };
    this.rows.set(symbol, entry);
    return entry;
  }
}

export function midOf(ticker) {
  if (ticker.bid === null || ticker.ask === null || ticker.bid === undefined) return null;
  return (ticker.bid + ticker.ask) / 2;
}

function sparkline(points) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${SPARK_W} ${SPARK_H}`);
  svg.setAttribute("width", SPARK_W);
  svg.setAttribute("height", SPARK_H);
  if (points.length < 2) return svg;
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const step = SPARK_W / (SPARK_POINTS - 1);
  const offset = SPARK_W - step * (points.length - 1);
  const coords = points.map(
    (p, i) => `${(offset + i * step).toFixed(1)},${(SPARK_H - 2 - ((p - low) / span) * (SPARK_H - 4)).toFixed(1)}`,
  );
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", coords.join(" "));
  line.setAttribute("class", points[points.length - 1] >= points[0] ? "spark-up" : "spark-down");
  svg.append(line);
  return svg;
}
