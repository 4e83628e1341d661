// Tiny DOM helpers: build elements without HTML strings (text is always text), tables, notices, formats.

/** h('button', {class: 'primary', onclick: fn, testid: 'save'}, 'Save') */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'class') el.className = value;
    else if (key === 'value') el.value = value;
    else if (key === 'checked' || key === 'disabled' || key === 'selected') el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: columns are [header, row => cell content]. */
export function table(rows, columns, empty = 'Nothing here yet.') {
  if (!rows.length) return h('p', {class: 'muted'}, empty);
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', {}, title)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row)))))));
}

export function badge(text) {
  const value = String(text ?? '').toLowerCase();
  return h('span', {class: `badge ${value}`}, value);
}

/** A <select> of [value, label] pairs. */
export function select(options, selected, attrs = {}) {
  return h('select', attrs, options.map(([value, label]) =>
    h('option', {value, selected: value === selected}, label ?? value)));
}

export function field(label, input) {
  return h('label', {}, label, input);
}

/** Where a screen reports errors and successes: an element at its top. */
export function notices() {
  const el = h('div', {'aria-live': 'polite'});
  return {
    el,
    error(error) { show(el, h('div', {class: 'notice error', role: 'alert', testid: 'error'}, describe(error))); },
    ok(text) { show(el, h('div', {class: 'notice ok', testid: 'ok'}, text)); },
    clear() { el.replaceChildren(); },
  };
}

/** An error in words with its code: "You may not do this (FORBIDDEN)". */
export function describe(error) {
  if (error && error.code) return `${error.words} (${error.code})`;
  return String(error && error.message ? error.message : error);
}

/** Runs an async action from a button: disabled while it runs, errors to the notices. */
export async function busy(button, notice, action) {
  if (button) button.disabled = true;
  try {
    notice?.clear();
    return await action();
  } catch (error) {
    if (notice) notice.error(error); else throw error;
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function formatDate(value) {
  return value ? new Date(value).toLocaleString() : '—';
}

// Minor units per ISO 4217 code, as the API stores amounts (query `currencies`, loaded once by app.js).
// Never the browser's Intl data: CLDR gives COP, AFN or ALL 0 digits where ISO 4217 (and the API) say 2.
const minorUnits = new Map();

export function setCurrencies(list) {
  minorUnits.clear();
  for (const {code, minorUnits: digits} of list) minorUnits.set(code, digits);
}

/** Digits after the decimal point of a currency (2 for EUR, 0 for JPY, 3 for KWD); null when unknown. */
export function currencyDigits(code) {
  const digits = minorUnits.get(String(code ?? '').toUpperCase());
  return digits === undefined ? null : digits;
}

/** Minor units as money, the storefront's rule too (py/rustok/money.py, one table of cases in
 *  tests/py/test_money_format.py): formatMoney(123450, 'EUR') -> '1,234.50 EUR'; an unknown currency is never
 *  guessed: '4900 XYZ (minor units)'; no amount or no currency: '—'. Exact (BigInt), never the locale's. */
export function formatMoney(amount, code) {
  if (amount === null || amount === undefined || !code) return '—';
  const currency = String(code).toUpperCase();
  const digits = currencyDigits(currency);
  if (digits === null) return `${amount} ${currency} (minor units)`;
  const minor = BigInt(amount);
  const text = (minor < 0n ? -minor : minor).toString().padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+$)/g, ',');
  const sign = minor < 0n ? '-' : '';
  return `${sign}${whole}${digits ? `.${text.slice(-digits)}` : ''} ${currency}`;
}

/** '49.90' in EUR -> 4990 (minor units); null for an empty or malformed amount, an unknown currency, or more
 *  decimals than the currency has (refused, never rounded). Exact: no floating point. */
export function toMinorUnits(text, code) {
  const digits = currencyDigits(code);
  const value = String(text ?? '').trim().replace(',', '.');
  const found = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (digits === null || !found) return null;
  const fraction = found[2] ?? '';
  if (fraction.length > digits) return null;
  const minor = Number(found[1] + fraction.padEnd(digits, '0'));
  return Number.isSafeInteger(minor) ? minor : null;
}

export function fromMinorUnits(amount, code) {
  const digits = currencyDigits(code) ?? 0;
  const text = String(Math.abs(Number(amount))).padStart(digits + 1, '0');
  const sign = Number(amount) < 0 ? '-' : '';
  return digits ? `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}` : `${sign}${text}`;
}

/** A datetime-local input value for an ISO instant, and back. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

/** The values of a form's named fields. */
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}
