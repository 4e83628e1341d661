// The live event feed: the tenant's events as they commit, over the GraphQL subscription (WebSocket,
// graphql-transport-ws), resuming after the last one seen when the connection comes back.

import {describe, formatDate, h, show} from '../ui.js';
import {subscribe} from '../ws.js';

const EVENTS = /* GraphQL */ `subscription EventFeed($types: [String!], $after: String) { events(types: $types, after: $after) {
  id cursor type actorId data occurredAt } }`;
const KEEP = 200;

export function render(main) {
  const state = h('span', {class: 'badge', testid: 'events-state'}, 'connecting');
  const feed = h('div', {class: 'feed panel', testid: 'events-feed'}, h('p', {class: 'muted'}, 'Waiting for events…'));
  const problem = h('div');
  const filter = h('input', {placeholder: 'Only types (comma separated), such as OrderPlaced', testid: 'events-types',
    size: 50});
  const apply = h('button', {testid: 'events-apply'}, 'Apply');
  let stop = null;
  let seen = 0;

  function start() {
    if (stop) stop();
    const types = filter.value.split(',').map((t) => t.trim()).filter(Boolean);
    stop = subscribe({
      query: EVENTS,
      variables: (after) => ({types: types.length ? types : null, after}),
      cursorOf: (data) => data?.events?.cursor,
      onNext: (data) => {
        const event = data.events;
        if (!seen++) feed.replaceChildren();
        feed.prepend(h('div', {class: 'event', testid: 'event'},
          h('strong', {}, event.type), ' ', h('span', {class: 'muted'}, formatDate(event.occurredAt)),
          h('pre', {}, JSON.stringify(event.data))));
        while (feed.childElementCount > KEEP) feed.lastElementChild.remove();
      },
      onError: (error) => show(problem, h('div', {class: 'notice error', role: 'alert'}, describe(error))),
      onStatus: (text) => { state.textContent = text; state.className = `badge ${text === 'live' ? 'on' : ''}`; },
    });
  }
  apply.addEventListener('click', start);

  show(main, h('h1', {}, 'Live events ', state), problem, h('div', {class: 'row panel'}, filter, apply), feed);
  start();
  return () => stop && stop();
}
