// One order: its lines, totals, addresses, and its status.

import {gql} from '../api.js';
import {busy, formatDate, formatMoney, h, notices, show, table} from '../ui.js';
import {statusControl} from './orders.js';

const ORDER = /* GraphQL */ `fragment OrderFields on Order { id displayId status email currencyCode createdAt updatedAt discountCode
  lines { id title variantTitle sku quantity unitPrice { amount currencyCode } subtotal { amount currencyCode } }
  subtotal { amount currencyCode } discountTotal { amount currencyCode } taxTotal { amount currencyCode }
  shippingTotal { amount currencyCode } total { amount currencyCode }
  shippingAddress { firstName lastName address1 address2 postalCode city countryCode phone } }`;

const money = (m) => formatMoney(m.amount, m.currencyCode);

export async function render(main, id) {
  const notice = notices();
  const content = h('div');
  show(main, h('p', {}, h('a', {href: '#/orders'}, '← Orders')), notice.el, content);
  await busy(null, notice, async () => {
    const {order} = await gql(/* GraphQL */ `query Order($id: ID!) { order(id: $id) { ...OrderFields } } ${ORDER}`, {id});
    if (!order) {
      show(content, h('p', {}, 'No such order.'));
      return;
    }
    const address = order.shippingAddress;
    show(content,
      h('h1', {}, `Order #${order.displayId}`),
      h('div', {class: 'row panel'}, h('span', {}, 'Status'), statusControl(order, notice),
        h('span', {class: 'muted'}, `placed ${formatDate(order.createdAt)} by ${order.email}`)),
      table(order.lines, [
        ['Item', (l) => `${l.title} — ${l.variantTitle}`],
        ['SKU', (l) => l.sku || '—'],
        ['Quantity', (l) => String(l.quantity)],
        ['Unit price', (l) => money(l.unitPrice)],
        ['Subtotal', (l) => money(l.subtotal)],
      ]),
      h('div', {class: 'panel'},
        h('div', {}, `Subtotal ${money(order.subtotal)}`),
        h('div', {}, `Discount ${money(order.discountTotal)}${order.discountCode ? ` (${order.discountCode})` : ''}`),
        h('div', {}, `Tax ${money(order.taxTotal)} · Shipping ${money(order.shippingTotal)}`),
        h('strong', {}, `Total ${money(order.total)}`)),
      address ? h('div', {class: 'panel'}, h('h2', {}, 'Ship to'),
        [address.firstName, address.lastName].filter(Boolean).join(' '), h('br'),
        [address.address1, address.address2].filter(Boolean).join(', '), h('br'),
        [address.postalCode, address.city, address.countryCode].filter(Boolean).join(' ')) : null);
  });
}
