// Orders: newest first, filtered by status; each row's status can be changed in place.

import {gql} from '../api.js';
import {busy, formatDate, formatMoney, h, notices, select, show, table} from '../ui.js';
import {subscribe} from '../ws.js';

export const ORDER_STATUSES = ['PENDING', 'PAID', 'FULFILLED', 'COMPLETED', 'CANCELED', 'REFUNDED'];
const ORDERS = /* GraphQL */ `query Orders($after: String, $filter: OrderFilter) { orders(first: 50, after: $after, filter: $filter) {
  edges { node { id displayId status email createdAt total { amount currencyCode } lines { quantity } } }
  pageInfo { hasNextPage endCursor } } }`;

/** A status <select> that calls setOrderStatus on change (and goes back when refused). */
export function statusControl(order, notice, onChanged = () => undefined) {
  const control = select(ORDER_STATUSES.map((s) => [s, s.toLowerCase()]), order.status,
    {testid: `order-status-${order.id}`, 'aria-label': `Status of order ${order.displayId}`});
  control.addEventListener('change', () => busy(control, notice, async () => {
    try {
      const {setOrderStatus} = await gql(/* GraphQL */ `mutation SetOrderStatus($id: ID!, $s: OrderStatus!) { setOrderStatus(id: $id, status: $s) { id status } }`,
        {id: order.id, s: control.value});
      order.status = setOrderStatus.status;
      notice.ok(`Order #${order.displayId} is now ${order.status.toLowerCase()}.`);
      onChanged(order);
    } catch (error) {
      control.value = order.status;
      throw error;
    }
  }));
  return control;
}

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const status = select([['', 'Any status'], ...ORDER_STATUSES.map((s) => [s, s.toLowerCase()])], '',
    {testid: 'orders-status'});
  const more = h('button', {testid: 'orders-more'}, 'Load more');
  let orders = [];
  let cursor = null;

  async function load(reset) {
    if (reset) {
      orders = [];
      cursor = null;
    }
    const {orders: page} = await gql(ORDERS, {after: cursor, filter: status.value ? {status: status.value} : {}});
    orders = orders.concat(page.edges.map((e) => e.node));
    cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    show(list, table(orders, [
      ['Order', (o) => h('a', {href: `#/orders/${o.id}`, testid: `order-link-${o.id}`}, `#${o.displayId}`)],
      ['Placed', (o) => formatDate(o.createdAt)],
      ['Customer', (o) => o.email],
      ['Items', (o) => String(o.lines.reduce((sum, l) => sum + l.quantity, 0))],
      ['Total', (o) => formatMoney(o.total.amount, o.total.currencyCode)],
      ['Status', (o) => statusControl(o, notice)],
    ], 'No orders yet.'), cursor ? more : null);
  }
  status.addEventListener('change', () => busy(null, notice, () => load(true)));
  more.addEventListener('click', () => busy(more, notice, () => load(false)));
  const refresh = h('button', {testid: 'orders-refresh'}, 'Refresh');
  refresh.addEventListener('click', () => busy(refresh, notice, () => load(true)));

  const live = h('span', {class: 'badge', testid: 'orders-live'}, 'not live');
  show(main, h('h1', {}, 'Orders ', live), notice.el, h('div', {class: 'row panel'}, status, refresh), list);
  await busy(null, notice, () => load(true));
  // new orders appear as they are placed (the events subscription; without events.read the list stays as is)
  return subscribe({
    query: /* GraphQL */ `subscription NewOrders($after: String) { events(types: ["OrderPlaced"], after: $after) { cursor data } }`,
    variables: (after) => ({after}),
    cursorOf: (data) => data?.events?.cursor,
    onNext: (data) => busy(null, notice, async () => {
      await load(true);
      notice.ok(`New order #${data.events.data.display_id}.`);
    }),
    onError: () => undefined,
    onStatus: (text) => { live.textContent = text === 'live' ? 'live' : 'not live'; live.className = `badge ${text === 'live' ? 'on' : ''}`; },
  });
}
