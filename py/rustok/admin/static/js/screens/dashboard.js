// The dashboard: orders and revenue today and this month (per currency, from the browser's midnight),
// products, low-stock variants and the comments waiting for moderation — each from its own query, so a
// module switched off hides its cards without hiding the others.

import {gql} from '../api.js';
import {describe, formatMoney, h, show, table} from '../ui.js';

const SHOP = /* GraphQL */ `query CommerceDashboard($tz: String) { commerceDashboard(timeZone: $tz) {
  ordersToday { currencyCode orders revenue } ordersThisMonth { currencyCode orders revenue }
  products { total published draft archived } lowStockThreshold
  lowStock { count variants { variantId productId productTitle variantTitle sku available } } } }`;
const MODERATION = /* GraphQL */ `query DashboardModeration { pendingComments(first: 5) { totalCount edges { node { id body postTitle authorName } } } }`;

export async function render(main) {
  const shop = h('div', {testid: 'dashboard-shop'}, h('p', {class: 'muted'}, 'Loading…'));
  const moderation = h('div', {testid: 'dashboard-moderation'});
  show(main, h('h1', {}, 'Dashboard'), shop, moderation);
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  await Promise.all([
    gql(SHOP, {tz: timeZone}).then(({commerceDashboard: d}) => showShop(shop, d), (e) => unavailable(shop, 'Shop', e)),
    gql(MODERATION).then(({pendingComments: p}) => showModeration(moderation, p),
      (e) => unavailable(moderation, 'Comments', e)),
  ]);
}

function totals(rows) {
  if (!rows.length) return {orders: 0, revenue: '—'};
  return {
    orders: rows.reduce((sum, row) => sum + row.orders, 0),
    revenue: rows.map((row) => formatMoney(row.revenue, row.currencyCode)).join(' · '),
  };
}

function card(label, value, sub, testid) {
  return h('div', {class: 'card', testid}, h('div', {class: 'label'}, label), h('div', {class: 'value'}, value),
    sub ? h('div', {class: 'sub'}, sub) : null);
}

function showShop(el, d) {
  const today = totals(d.ordersToday);
  const month = totals(d.ordersThisMonth);
  show(el,
    h('div', {class: 'cards'},
      card('Orders today', today.orders, today.revenue, 'orders-today'),
      card('Orders this month', month.orders, month.revenue, 'orders-month'),
      card('Products', d.products.total, `${d.products.published} published · ${d.products.draft} draft`, 'products'),
      card('Low stock', d.lowStock.count, `at most ${d.lowStockThreshold} available`, 'low-stock')),
    d.lowStock.variants.length ? h('div', {class: 'panel'}, h('h2', {}, 'Running low'),
      table(d.lowStock.variants, [
        ['Product', (v) => h('a', {href: `#/products/${v.productId}`}, v.productTitle)],
        ['Variant', (v) => v.variantTitle],
        ['SKU', (v) => v.sku || '—'],
        ['Available', (v) => String(v.available)],
      ])) : null);
}

function showModeration(el, p) {
  show(el, h('div', {class: 'cards'},
    card('Pending comments', p.totalCount, h('a', {href: '#/comments'}, 'Moderate'), 'pending-comments')),
  p.edges.length ? h('div', {class: 'panel'}, h('h2', {}, 'Waiting for moderation'),
    table(p.edges.map((e) => e.node), [
      ['Post', (c) => c.postTitle || '—'],
      ['Author', (c) => c.authorName || 'anonymous'],
      ['Comment', (c) => c.body.slice(0, 120)],
    ])) : null);
}

function unavailable(el, what, error) {
  show(el, h('p', {class: 'muted'}, `${what}: ${describe(error)}`));
}
