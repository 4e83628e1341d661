// The content editor: title, slug, excerpt, body with a live preview rendered by the server (the
// storefront's renderer), category, tags, SEO fields; save, publish now or at a time (scheduling),
// unpublish, delete; and the revisions of the body with restore.

import {gql} from '../api.js';
import {busy, field, formatDate, fromLocalInput, h, notices, select, show, table, toLocalInput} from '../ui.js';
import {state} from './content.js';

const NODE = /* GraphQL */ `fragment EditorNode on ContentNode { id kind status isLive title slug excerpt body format categoryId tags { name } metaTitle metaDescription
  publishedAt updatedAt }`;

export async function render(main, param) {
  const notice = notices();
  const isNew = param === 'page' || param === 'post';
  const [{categories}, loaded] = await Promise.all([
    gql(/* GraphQL */ `query EditorCategories { categories { id name depth } }`).catch(() => ({categories: []})),
    isNew ? Promise.resolve(null) : gql(/* GraphQL */ `query Node($id: ID!) { node(id: $id) { ...EditorNode } } ${NODE}`, {id: param})
      .then((d) => d.node, (error) => { notice.error(error); return null; }),
  ]);
  if (!isNew && !loaded) {
    show(main, h('h1', {}, 'Content'), notice.el, h('a', {href: '#/content'}, 'Back to content'));
    return;
  }
  let node = loaded || {kind: param.toUpperCase(), status: 'DRAFT', format: 'MARKDOWN', body: '', tags: []};

  const input = (name, attrs = {}) => h('input', {name, value: node[name] ?? '', testid: `node-${name}`, ...attrs});
  const body = h('textarea', {name: 'body', testid: 'node-body'});
  body.value = node.body || '';
  const format = select([['MARKDOWN', 'Markdown'], ['HTML', 'HTML']], node.format, {name: 'format', testid: 'node-format'});
  const category = select([['', '— none —'], ...categories.map((c) => [c.id, `${'· '.repeat(c.depth)}${c.name}`])],
    node.categoryId || '', {name: 'categoryId', testid: 'node-category'});
  const status = select([['DRAFT', 'Draft'], ['PUBLISHED', 'Published'], ['ARCHIVED', 'Archived']], node.status,
    {name: 'status', testid: 'node-status'});
  const publishAt = h('input', {type: 'datetime-local', name: 'publishedAt', value: toLocalInput(node.publishedAt),
    testid: 'node-published-at'});
  const tags = h('input', {name: 'tags', value: node.tags.map((t) => t.name).join(', '), testid: 'node-tags',
    placeholder: 'comma separated'});
  const preview = h('div', {class: 'preview', testid: 'node-preview'});
  const header = h('div');
  const revisions = h('div', {testid: 'node-revisions'});

  let timer = null;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const {previewMarkdown} = await gql(/* GraphQL */ `query PreviewMarkdown($b: String!, $f: BodyFormat) { previewMarkdown(body: $b, format: $f) }`,
          {b: body.value, f: format.value});
        preview.innerHTML = previewMarkdown;  // sanitised by the server's allow-list, as on the storefront
      } catch (error) {
        notice.error(error);
      }
    }, 350);
  }
  body.addEventListener('input', schedulePreview);
  format.addEventListener('change', schedulePreview);

  function request() {
    const values = Object.fromEntries(new FormData(form).entries());
    const out = {
      title: values.title, excerpt: values.excerpt || null, body: body.value, format: format.value,
      categoryId: category.value || null, status: status.value,
      tags: values.tags.split(',').map((t) => t.trim()).filter(Boolean),
      metaTitle: values.metaTitle || null, metaDescription: values.metaDescription || null,
    };
    if (values.slug) out.slug = values.slug;
    if (status.value === 'PUBLISHED' && publishAt.value) out.publishedAt = fromLocalInput(publishAt.value);
    return out;
  }

  const save = h('button', {class: 'primary', type: 'submit', testid: 'node-save'}, isNew ? 'Create' : 'Save');
  const form = h('form', {class: 'stack', testid: 'node-form'},
    h('div', {class: 'row'}, h('label', {class: 'grow'}, 'Title', input('title', {required: true})),
      field('Slug', input('slug', {placeholder: 'made from the title'}))),
    field('Excerpt', input('excerpt')),
    h('div', {class: 'split'}, h('div', {class: 'stack'}, h('div', {class: 'row'}, format), body),
      h('div', {class: 'stack'}, h('span', {class: 'muted'}, 'Preview (as readers see it)'), preview)),
    h('div', {class: 'row'}, field('Category', category), h('label', {class: 'grow'}, 'Tags', tags)),
    h('div', {class: 'row'}, field('Status', status),
      field('Publish at (a future time schedules it)', publishAt)),
    h('div', {class: 'row'}, h('label', {class: 'grow'}, 'Meta title', input('metaTitle')),
      h('label', {class: 'grow'}, 'Meta description', input('metaDescription'))),
    h('div', {class: 'row'}, save, isNew ? null : actions()));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, notice, async () => {
      if (isNew) {
        const {createNode} = await gql(/* GraphQL */ `mutation CreateNode($input: CreateNodeRequest!) { createNode(input: $input) { id } }`,
          {input: {kind: node.kind, ...request()}});
        location.hash = `#/content/${createNode.id}`;
        return;
      }
      const {updateNode} = await gql(/* GraphQL */ `mutation UpdateNode($id: ID!, $input: UpdateNodeRequest!) { updateNode(id: $id, input: $input) { ...EditorNode } } ${NODE}`,
        {id: node.id, input: request()});
      node = updateNode;
      drawHeader();
      await loadRevisions();
      notice.ok('Saved.');
    });
  });

  function actions() {
    const act = (label, testid, run, cls = '') => {
      const button = h('button', {type: 'button', testid, class: cls}, label);
      button.addEventListener('click', () => busy(button, notice, run));
      return button;
    };
    const reload = async (data) => {
      node = Object.values(data)[0];
      status.value = node.status;
      publishAt.value = toLocalInput(node.publishedAt);
      drawHeader();
    };
    return [
      act('Publish now', 'node-publish', async () => reload(await gql(
        /* GraphQL */ `mutation PublishNode($id: ID!) { publishNode(id: $id) { ...EditorNode } } ${NODE}`, {id: node.id}))),
      act('Schedule', 'node-schedule', async () => {
        if (!publishAt.value) throw new Error('Choose the time to publish at first.');
        await reload(await gql(/* GraphQL */ `mutation ScheduleNode($id: ID!, $at: DateTime) { publishNode(id: $id, at: $at) { ...EditorNode } } ${NODE}`,
          {id: node.id, at: fromLocalInput(publishAt.value)}));
        notice.ok(`Scheduled for ${formatDate(node.publishedAt)}.`);
      }),
      act('Unpublish', 'node-unpublish', async () => reload(await gql(
        /* GraphQL */ `mutation UnpublishNode($id: ID!) { unpublishNode(id: $id) { ...EditorNode } } ${NODE}`, {id: node.id}))),
      act('Delete', 'node-delete', async () => {
        if (!confirm('Delete this for good?')) return;
        await gql(/* GraphQL */ `mutation DeleteNode($id: ID!) { deleteNode(id: $id) }`, {id: node.id});
        location.hash = '#/content';
      }, 'danger'),
    ];
  }

  function drawHeader() {
    show(header, h('h1', {}, isNew ? `New ${node.kind.toLowerCase()}` : node.title),
      isNew ? null : h('p', {class: 'muted'}, node.kind.toLowerCase(), ' · ', state(node), ' · updated ',
        formatDate(node.updatedAt)));
  }

  async function loadRevisions() {
    if (isNew) return;
    const {nodeRevisions} = await gql(/* GraphQL */ `query NodeRevisions($id: ID!) { nodeRevisions(nodeId: $id, first: 50) {
      edges { node { id number body format writtenAt replacedAt } } } }`, {id: node.id});
    show(revisions, h('h2', {}, 'Revisions'), table(nodeRevisions.edges.map((e) => e.node), [
      ['#', (r) => String(r.number)],
      ['Written', (r) => formatDate(r.writtenAt)],
      ['Replaced', (r) => formatDate(r.replacedAt)],
      ['Start', (r) => r.body.slice(0, 80)],
      ['', (r) => {
        const button = h('button', {type: 'button', testid: `revision-restore-${r.id}`}, 'Restore');
        button.addEventListener('click', () => busy(button, notice, async () => {
          const {restoreRevision} = await gql(/* GraphQL */ `mutation RestoreRevision($n: ID!, $r: ID!) { restoreRevision(nodeId: $n, revisionId: $r) { ...EditorNode } } ${NODE}`,
            {n: node.id, r: r.id});
          node = restoreRevision;
          body.value = node.body;
          format.value = node.format;
          schedulePreview();
          await loadRevisions();
          notice.ok(`Revision ${r.number} restored; the replaced body is kept as a revision.`);
        }));
        return button;
      }],
    ], 'No earlier versions yet.'));
  }

  drawHeader();
  show(main, h('p', {}, h('a', {href: '#/content'}, '← Content')), header, notice.el, h('div', {class: 'panel'}, form),
    revisions);
  schedulePreview();
  await busy(null, notice, loadRevisions);
}
