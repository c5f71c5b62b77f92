// Order entry (with the pre-trade check preview) and the blotter (orders and fills,
// live from /ws/orders, with cancel and replace).

import { ApiProblem } from "./api.js";
import { $, clock, h, price, qty } from "./dom.js";

const PREVIEW_DELAY_MS = 250;
const OPEN = new Set(["PENDING_NEW", "NEW", "PARTIALLY_FILLED", "PENDING_CANCEL", "PENDING_REPLACE"]);
const CANCELABLE = new Set(["NEW", "PARTIALLY_FILLED", "PENDING_NEW"]);
const REPLACEABLE = new Set(["NEW", "PARTIALLY_FILLED"]);

let sequence = 0;
const newClientOrderId = () =>
  `web-${Date.now().toString(36)}-${(sequence++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

/** Show an outcome in a status region: ok, or a problem's code and detail. */
export function report(element, outcome) {
  element.replaceChildren();
  element.className = `outcome ${outcome.kind}`;
  if (outcome.code) element.append(h("code", { class: "code" }, outcome.code), " ");
  element.append(outcome.text);
}

export const problemOutcome = (error) =>
  error instanceof ApiProblem
    ? { kind: "error", code: error.code, text: error.detail }
    : { kind: "error", code: "CLIENT_ERROR", text: String(error) };

export class OrderTicket {
  constructor(client, tickers, { onPlaced }) {
    this.client = client;
    this.tickers = tickers;
    this.onPlaced = onPlaced;
    this.form = $("#ticket");
    this.preview = $("#preview");
    this.result = $("#ticket-result");
    this.timer = null;
    this.previewId = 0;
  }

  start() {
    const form = this.form;
    form.addEventListener("input", () => this.changed());
    form.addEventListener("change", () => this.changed());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.tickers.subscribe(() => this.fillSymbols());
    this.changed();
  }

  fillSymbols() {
    const select = this.form.elements.symbol;
    const known = new Set([...select.options].map((o) => o.value));
    const symbols = this.tickers.symbols();
    if (symbols.every((s) => known.has(s))) return;
    const chosen = select.value;
    select.replaceChildren(...symbols.map((s) => h("option", { value: s }, s)));
    if (chosen && symbols.includes(chosen)) select.value = chosen;
    this.changed();
  }

  select(symbol) {
    this.fillSymbols();
    this.form.elements.symbol.value = symbol;
    const ticker = this.tickers.get(symbol);
    const fields = this.form.elements;
    if (ticker && fields.order_type.value === "LIMIT") {
      const side = fields.side.value;
      const touch = side === "BUY" ? ticker.bid : ticker.ask;
      if (touch) fields.limit_price.value = touch.toFixed(2);
    }
    this.changed();
    fields.quantity.focus();
  }

  order() {
    const fields = this.form.elements;
    const type = fields.order_type.value;
    const body = {
      client_order_id: newClientOrderId(),
      symbol: fields.symbol.value,
      side: fields.side.value,
      quantity: Number(fields.quantity.value),
      order_type: type,
      time_in_force: fields.time_in_force.value,
    };
    if (type === "LIMIT" && fields.limit_price.value !== "") body.limit_price = Number(fields.limit_price.value);
    return body;
  }

  changed() {
    const fields = this.form.elements;
    const market = fields.order_type.value === "MARKET";
    fields.limit_price.disabled = market;
    fields.limit_price.required = !market;
    this.form.dataset.side = fields.side.value;
    $("#send").textContent = `${fields.side.value === "BUY" ? "Buy" : "Sell"} ${fields.symbol.value || ""}`.trim();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), PREVIEW_DELAY_MS);
  }

  async check() {
    const body = this.order();
    if (!body.symbol || !(body.quantity > 0)) {
      report(this.preview, { kind: "idle", text: "Enter a symbol and a quantity." });
      return;
    }
    const id = ++this.previewId;
    try {
      const verdict = await this.client.post("/risk/check", body);
      if (id !== this.previewId) return; // a newer preview is on its way
      report(
        this.preview,
        verdict.accepted
          ? { kind: "ok", text: "Passes the pre-trade checks." }
          : { kind: "warn", code: verdict.code, text: verdict.detail || "would be rejected" },
      );
    } catch (error) {
      if (id === this.previewId) report(this.preview, problemOutcome(error));
    }
  }

  async send() {
    const body = this.order();
    const button = $("#send");
    button.disabled = true;
    try {
      const order = await this.client.post("/orders", body);
      report(this.result, {
        kind: "ok",
        text: `${order.side} ${qty(order.quantity)} ${order.symbol} accepted (${order.order_id}).`,
      });
      this.onPlaced(order);
    } catch (error) {
      report(this.result, problemOutcome(error));
      if (error instanceof ApiProblem && error.order) this.onPlaced(error.order);
    } finally {
      button.disabled = false;
      this.check();
    }
  }
}

export class Blotter {
  constructor(client, { onFill, onStatus }) {
    this.client = client;
    this.onFill = onFill;
    this.onStatus = onStatus;
    this.orders = new Map(); // order_id -> order, in arrival order
    this.fills = [];
    this.stale = new Set(); // order ids to refetch
    this.fillsStale = false; // a fill arrived: refetch fills and P&L
    this.fetching = false;
    this.retryMs = 500;
    this.closed = false;
    this.result = $("#blotter-result");
  }

  async start() {
    for (const element of [$("#filter-status"), $("#filter-symbol")]) {
      element.addEventListener("change", () => this.draw());
    }
    this.connect();
    await this.reload();
  }

  stop() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }

  async reload() {
    try {
      const [orders, fills] = await Promise.all([
        this.client.all("/orders", "orders"),
        this.client.all("/fills", "fills"),
      ]);
      this.orders = new Map(orders.map((o) => [o.order_id, o]));
      this.fills = fills;
      this.draw();
    } catch (error) {
      report(this.result, problemOutcome(error));
    }
  }

  connect() {
    const socket = this.client.socket("/ws/orders", { authenticated: true });
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.onStatus("live");
      if (this.retryMs > 500) this.reload(); // events may have been missed while away
      this.retryMs = 500;
    };
    socket.onmessage = (message) => {
      const text = typeof message.data === "string" ? message.data : new TextDecoder().decode(message.data);
      const { event } = JSON.parse(text);
      if (event.order_id) this.stale.add(event.order_id);
      if (event.type === "OrderFilled") this.fillsStale = true;
      this.refresh();
    };
    socket.onclose = (event) => {
      if (this.closed) return;
      this.onStatus(event.code === 1008 ? "refused" : "reconnecting");
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 8000);
    };
  }

  /** Refetch the orders events named, coalesced: one pass at a time. */
  async refresh() {
    if (this.fetching) return;
    this.fetching = true;
    try {
      while (this.stale.size || this.fillsStale) {
        const ids = [...this.stale];
        this.stale.clear();
        const fillsChanged = this.fillsStale;
        this.fillsStale = false;
        const orders = await Promise.all(ids.map((id) => this.client.get(`/orders/${encodeURIComponent(id)}`)));
        for (const order of orders) this.orders.set(order.order_id, order);
        if (fillsChanged) {
          this.fills = await this.client.all("/fills", "fills");
          this.onFill();
        }
        this.draw();
      }
    } catch (error) {
      report(this.result, problemOutcome(error));
    } finally {
      this.fetching = false;
    }
  }

  upsert(order) {
    this.orders.set(order.order_id, order);
    this.draw();
  }

  draw() {
    const status = $("#filter-status").value;
    const symbol = $("#filter-symbol").value;
    const all = [...this.orders.values()];
    this.fillSymbolFilter(all);
    const shown = all
      .filter((o) => status === "" || (status === "OPEN" ? OPEN.has(o.status) : o.status === status))
      .filter((o) => symbol === "" || o.symbol === symbol)
      .sort((a, b) => b.created_ns - a.created_ns);
    const body = $("#orders tbody");
    body.replaceChildren(...shown.map((o) => this.row(o)));
    $("#orders-empty").hidden = shown.length > 0;
    $("#order-count").textContent = `${shown.length} of ${all.length}`;
    const openCount = all.filter((o) => OPEN.has(o.status)).length;
    $("#open-count").textContent = String(openCount);
    const fills = this.fills
      .filter((f) => symbol === "" || f.symbol === symbol)
      .slice()
      .reverse();
    $("#fills tbody").replaceChildren(...fills.map((f) => fillRow(f)));
    $("#fills-empty").hidden = fills.length > 0;
    $("#fill-count").textContent = String(this.fills.length);
  }

  fillSymbolFilter(orders) {
    const select = $("#filter-symbol");
    const symbols = [...new Set(orders.map((o) => o.symbol))].sort();
    const current = [...select.options].slice(1).map((o) => o.value);
    if (symbols.join() === current.join()) return;
    const chosen = select.value;
    select.replaceChildren(h("option", { value: "" }, "All symbols"), ...symbols.map((s) => h("option", { value: s }, s)));
    select.value = symbols.includes(chosen) ? chosen : "";
  }

  row(order) {
    const actions = h("div");
    if (CANCELABLE.has(order.status)) {
      actions.append(
        h("button", { type: "button", class: "small", onclick: () => this.cancel(order), "aria-label": `Cancel ${order.client_order_id}` }, "Cancel"),
      );
    }
    if (REPLACEABLE.has(order.status) && order.order_type === "LIMIT") {
      actions.append(
        h("button", { type: "button", class: "small ghost", onclick: () => this.replace(order), "aria-label": `Replace ${order.client_order_id}` }, "Replace"),
      );
    }
    const reason = order.reject_reason
      ? h("code", { class: "code", title: order.reject_detail || "" }, order.reject_reason)
      : null;
    return h(
      "tr",
      { "data-order-id": order.order_id, "data-client-order-id": order.client_order_id, "data-status": order.status },
      h("td", { class: "time" }, clock(order.created_ns)),
      h("td", {}, h("strong", {}, order.symbol)),
      h("td", { class: order.side === "BUY" ? "buy" : "sell" }, order.side),
      h("td", { class: "num" }, qty(order.quantity)),
      h("td", { class: "num" }, qty(order.filled_quantity)),
      h("td", { class: "num" }, order.order_type === "MARKET" ? "MKT" : price(order.limit_price)),
      h("td", { class: "num" }, price(order.average_fill_price)),
      h("td", {}, order.time_in_force),
      h("td", { class: "status-cell" }, h("span", { class: `status s-${order.status.toLowerCase()}` }, order.status.replaceAll("_", " ")), reason ? " " : null, reason),
      h("td", { class: "actions" }, actions),
    );
  }

  async cancel(order) {
    try {
      await this.client.delete(`/orders/${encodeURIComponent(order.order_id)}`);
      report(this.result, { kind: "ok", text: `Cancel requested for ${order.client_order_id}.` });
      this.stale.add(order.order_id);
      this.refresh();
    } catch (error) {
      report(this.result, problemOutcome(error));
    }
  }

  replace(order) {
    const dialog = $("#replace-dialog");
    const form = $("#replace-form");
    form.elements.quantity.value = order.quantity;
    form.elements.limit_price.value = order.limit_price;
    $("#replace-title").textContent = `Replace ${order.side} ${order.symbol} (${order.client_order_id})`;
    form.onsubmit = async (event) => {
      event.preventDefault();
      if (event.submitter && event.submitter.value === "cancel") {
        dialog.close();
        return;
      }
      try {
        await this.client.post(`/orders/${encodeURIComponent(order.order_id)}/replace`, {
          quantity: Number(form.elements.quantity.value),
          limit_price: Number(form.elements.limit_price.value),
        });
        report(this.result, { kind: "ok", text: `Replace requested for ${order.client_order_id}.` });
        dialog.close();
        this.stale.add(order.order_id);
        this.refresh();
      } catch (error) {
        report($("#replace-result"), problemOutcome(error));
      }
    };
    $("#replace-result").replaceChildren();
    dialog.showModal();
  }
}

function fillRow(fill) {
  return h(
    "tr",
    { "data-fill-id": fill.fill_id },
    h("td", { class: "time" }, clock(fill.ts_ns)),
    h("td", {}, h("strong", {}, fill.symbol)),
    h("td", { class: fill.side === "BUY" ? "buy" : "sell" }, fill.side),
    h("td", { class: "num" }, qty(fill.quantity)),
    h("td", { class: "num" }, price(fill.price)),
    h("td", { class: "mono" }, fill.order_id),
  );
}
