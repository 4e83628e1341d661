// The index (the read model storefronts and search read): rows against sources, the queue, the config in
// force; verify it against a fresh computation, and ask the worker to rebuild it.

import {gql} from '../api.js';
import {busy, formatDate, h, notices, show, table} from '../ui.js';

const STATUS = /* GraphQL */ `query IndexStatus { indexStatus { indexes { target rows sources lastIndexedAt } queueLength oldestQueuedAt config } }`;
const VERIFY = /* GraphQL */ `query VerifyIndex($n: Int) { verifyIndex(sample: $n) { exact differences byProblem { index problem count }
  sample { index targetId problem columns } } }`;

export async function render(main) {
  const notice = notices();
  const status = h('div', {testid: 'index-status'});
  const verification = h('div', {testid: 'index-verification'});

  function reindexButton(target) {
    const button = h('button', {testid: `index-reindex-${target.toLowerCase()}`}, `Rebuild ${target.toLowerCase()}`);
    button.addEventListener('click', () => busy(button, notice, async () => {
      await gql(/* GraphQL */ `mutation RequestReindex($t: IndexTarget!) { requestReindex(target: $t) }`, {t: target});
      notice.ok(`Rebuild of ${target.toLowerCase()} requested: the worker (rustok worker) runs it in batches.`);
    }));
    return button;
  }

  const verify = h('button', {class: 'primary', testid: 'index-verify'}, 'Verify now');
  verify.addEventListener('click', () => busy(verify, notice, async () => {
    const {verifyIndex: v} = await gql(VERIFY, {n: 50});
    show(verification, h('h2', {}, 'Verification'),
      v.exact ? h('div', {class: 'notice ok'}, 'The index matches a fresh computation exactly.')
        : h('div', {class: 'notice error'}, `${v.differences} index rows differ from a fresh computation.`),
      v.exact ? null : table(v.byProblem, [['Index', (p) => p.index], ['Problem', (p) => p.problem],
        ['Rows', (p) => String(p.count)]]),
      v.sample.length ? table(v.sample, [['Index', (s) => s.index], ['Id', (s) => s.targetId],
        ['Problem', (s) => s.problem], ['Columns', (s) => (s.columns || []).join(', ') || '—']]) : null);
  }));

  async function load() {
    const {indexStatus: s} = await gql(STATUS);
    show(status, table(s.indexes, [
      ['Index', (i) => i.target],
      ['Rows', (i) => String(i.rows)],
      ['Sources', (i) => String(i.sources)],
      ['Last indexed', (i) => formatDate(i.lastIndexedAt)],
      ['', (i) => reindexButton(i.target.toUpperCase())],
    ]), h('div', {class: 'panel'},
      h('div', {}, `Queue: ${s.queueLength} waiting`, s.oldestQueuedAt ? ` since ${formatDate(s.oldestQueuedAt)}` : ''),
      h('div', {class: 'muted'}, `Config: ${Object.entries(s.config).map(([k, v]) => `${k} ${v}`).join(' · ')}`)));
  }

  show(main, h('h1', {}, 'Index'), notice.el, status, h('div', {class: 'row'}, verify), verification);
  await busy(null, notice, load);
}
