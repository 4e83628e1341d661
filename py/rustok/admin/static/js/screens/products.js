// Products: every status, newest first, searchable by title.

import {gql} from '../api.js';
import {badge, busy, formatMoney, h, notices, select, show, table} from '../ui.js';

const PRODUCTS = /* GraphQL */ `query Products($after: String, $filter: ProductFilter) { products(first: 50, after: $after, filter: $filter) {
  edges { node { id title handle status updatedAt variants { inventoryQuantity prices { amount currencyCode } } } }
  pageInfo { hasNextPage endCursor } } }`;

export function priceRange(product) {
  const prices = product.variants.flatMap((v) => v.prices);
  if (!prices.length) return '—';
  const code = prices[0].currencyCode;
  const amounts = prices.filter((p) => p.currencyCode === code).map((p) => Number(p.amount));
  const [low, high] = [Math.min(...amounts), Math.max(...amounts)];
  return low === high ? formatMoney(low, code) : `${formatMoney(low, code)} – ${formatMoney(high, code)}`;
}

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const search = h('input', {type: 'search', placeholder: 'Search titles', testid: 'products-search'});
  const status = select([['', 'Any status'], ['DRAFT', 'Draft'], ['PUBLISHED', 'Published'], ['ARCHIVED', 'Archived']],
    '', {testid: 'products-status'});
  const more = h('button', {testid: 'products-more'}, 'Load more');
  let products = [];
  let cursor = null;

  async function load(reset) {
    if (reset) {
      products = [];
      cursor = null;
    }
    const filter = {};
    if (search.value.trim()) filter.search = search.value.trim();
    if (status.value) filter.status = status.value;
    const {products: page} = await gql(PRODUCTS, {after: cursor, filter});
    products = products.concat(page.edges.map((e) => e.node));
    cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    show(list, table(products, [
      ['Title', (p) => h('a', {href: `#/products/${p.id}`, testid: `product-link-${p.id}`}, p.title)],
      ['Handle', (p) => p.handle],
      ['Status', (p) => badge(p.status)],
      ['Variants', (p) => String(p.variants.length)],
      ['Price', priceRange],
      ['Stock', (p) => String(p.variants.reduce((sum, v) => sum + v.inventoryQuantity, 0))],
    ], 'No products yet.'), cursor ? more : null);
  }
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => busy(null, notice, () => load(true)), 300);
  });
  status.addEventListener('change', () => busy(null, notice, () => load(true)));
  more.addEventListener('click', () => busy(more, notice, () => load(false)));

  show(main, h('h1', {}, 'Products'), notice.el,
    h('div', {class: 'row panel'}, search, status, h('span', {class: 'grow'}),
      h('a', {href: '#/products/new', testid: 'product-new'}, h('button', {class: 'primary'}, 'New product'))),
    list);
  await busy(null, notice, () => load(true));
}
