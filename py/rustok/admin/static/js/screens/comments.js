// Comment moderation: the pending queue across posts, oldest first; approve or mark as spam.

import {gql} from '../api.js';
import {busy, formatDate, h, notices, show, table} from '../ui.js';

const QUEUE = /* GraphQL */ `query ModerationQueue($after: String) { pendingComments(first: 50, after: $after) { totalCount
  edges { node { id nodeId postTitle authorName body createdAt } } pageInfo { hasNextPage endCursor } } }`;

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const count = h('p', {class: 'muted', testid: 'comments-count'});

  function decide(comment, status, label, testid, cls) {
    const button = h('button', {testid: `${testid}-${comment.id}`, class: cls}, label);
    button.addEventListener('click', () => busy(button, notice, async () => {
      await gql(/* GraphQL */ `mutation ModerateComment($id: ID!, $s: ModerationStatus!) { moderateComment(id: $id, status: $s) { id moderation } }`,
        {id: comment.id, s: status});
      notice.ok(`Comment ${status === 'APPROVED' ? 'approved' : 'marked as spam'}.`);
      await load();
    }));
    return button;
  }

  async function load() {
    const {pendingComments} = await gql(QUEUE, {after: null});
    show(count, `${pendingComments.totalCount} waiting`);
    show(list, table(pendingComments.edges.map((e) => e.node), [
      ['Post', (c) => h('a', {href: `#/content/${c.nodeId}`}, c.postTitle || 'post')],
      ['Author', (c) => c.authorName || 'anonymous'],
      ['Comment', (c) => c.body],
      ['Written', (c) => formatDate(c.createdAt)],
      ['', (c) => h('div', {class: 'row'},
        decide(c, 'APPROVED', 'Approve', 'comment-approve', 'primary'),
        decide(c, 'SPAM', 'Spam', 'comment-spam', 'danger'))],
    ], 'Nothing waits for moderation.'));
  }

  show(main, h('h1', {}, 'Comments'), notice.el, count, list);
  await busy(null, notice, load);
}
