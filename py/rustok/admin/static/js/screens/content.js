// Content: pages and posts, newest first, filtered by kind and status; a scheduled post shows its time.

import {gql} from '../api.js';
import {badge, busy, formatDate, h, notices, select, show, table} from '../ui.js';

const NODES = /* GraphQL */ `query Nodes($after: String, $filter: NodeFilter) { nodes(first: 50, after: $after, filter: $filter) {
  edges { node { id kind status isLive title slug authorName category { name } tags { name } updatedAt publishedAt } }
  pageInfo { hasNextPage endCursor } } }`;

export function state(node) {
  if (node.status === 'PUBLISHED' && !node.isLive) return h('span', {}, badge('scheduled'), ' ', formatDate(node.publishedAt));
  return badge(node.status);
}

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const kind = select([['', 'Pages and posts'], ['PAGE', 'Pages'], ['POST', 'Posts']], '', {testid: 'content-kind'});
  const status = select([['', 'Any status'], ['DRAFT', 'Drafts'], ['PUBLISHED', 'Published'], ['ARCHIVED', 'Archived']],
    '', {testid: 'content-status'});
  const more = h('button', {testid: 'content-more'}, 'Load more');
  let nodes = [];
  let cursor = null;

  async function load(reset) {
    if (reset) {
      nodes = [];
      cursor = null;
    }
    const filter = {};
    if (kind.value) filter.kind = kind.value;
    if (status.value) filter.status = status.value;
    const {nodes: page} = await gql(NODES, {after: cursor, filter});
    nodes = nodes.concat(page.edges.map((e) => e.node));
    cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    show(list, table(nodes, [
      ['Title', (n) => h('a', {href: `#/content/${n.id}`, testid: `content-link-${n.id}`}, n.title)],
      ['Kind', (n) => n.kind.toLowerCase()],
      ['State', state],
      ['Category', (n) => n.category?.name || '—'],
      ['Tags', (n) => n.tags.map((t) => t.name).join(', ') || '—'],
      ['Author', (n) => n.authorName || '—'],
      ['Updated', (n) => formatDate(n.updatedAt)],
    ]), cursor ? more : null);
  }
  for (const control of [kind, status]) control.addEventListener('change', () => busy(null, notice, () => load(true)));
  more.addEventListener('click', () => busy(more, notice, () => load(false)));

  show(main, h('h1', {}, 'Content'), notice.el,
    h('div', {class: 'row panel'}, kind, status, h('span', {class: 'grow'}),
      h('a', {href: '#/content/new/page', testid: 'content-new-page'}, h('button', {}, 'New page')),
      h('a', {href: '#/content/new/post', testid: 'content-new-post'}, h('button', {class: 'primary'}, 'New post'))),
    list);
  await busy(null, notice, () => load(true));
}
