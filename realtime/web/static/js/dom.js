// Small DOM and formatting helpers shared by the views.

export const $ = (selector, root = document) => root.querySelector(selector);

/** An element: h("td", {class: "num"}, "12.00"); children are nodes or text. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const PRICE = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const MONEY = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const QTY = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export const price = (value) => (value === null || value === undefined ? "—" : PRICE.format(value));
export const qty = (value) => (value === null || value === undefined ? "—" : QTY.format(value));

export function money(value) {
  if (value === null || value === undefined) return "—";
  const text = MONEY.format(Math.abs(value));
  return value < 0 ? `−${text}` : text;
}

export function signed(value) {
  if (value === null || value === undefined) return "—";
  const text = PRICE.format(Math.abs(value));
  if (value > 0) return `+${text}`;
  return value < 0 ? `−${text}` : text;
}

/** "up" / "down" / "" for colouring a number by its sign (with text, never colour alone). */
export const tone = (value) => (value > 0 ? "up" : value < 0 ? "down" : "");

export function clock(ns) {
  if (!ns) return "—";
  return new Date(ns / 1e6).toLocaleTimeString("en-GB", { hour12: false });
}
