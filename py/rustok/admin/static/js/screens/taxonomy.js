// Categories (a tree: create, rename, move, delete) and tags (with how many pages and posts carry them).

import {gql} from '../api.js';
import {busy, field, formValues, h, notices, select, show, table} from '../ui.js';

const CATEGORY = /* GraphQL */ `fragment CategoryFields on Category { id parentId name slug description position depth }`;

export async function render(main) {
  const notice = notices();
  const tree = h('div', {testid: 'categories'});
  const tagList = h('div', {testid: 'tags'});
  const parent = h('span');
  let categories = [];

  const form = h('form', {class: 'stack panel', testid: 'category-form'},
    h('h2', {}, 'New category'),
    h('div', {class: 'row'},
      field('Name', h('input', {name: 'name', required: true, testid: 'category-name'})),
      field('Slug', h('input', {name: 'slug', placeholder: 'made from the name', testid: 'category-slug'})),
      field('Under', parent)),
    h('div', {}, h('button', {class: 'primary', type: 'submit', testid: 'category-save'}, 'Add category')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = formValues(form);
    const input = {name: values.name, parentId: values.parentId || null};
    if (values.slug) input.slug = values.slug;
    busy(form.querySelector('button'), notice, async () => {
      await gql(/* GraphQL */ `mutation CreateCategory($input: CreateCategoryRequest!) { createCategory(input: $input) { id } }`, {input});
      form.reset();
      await load();
    });
  });

  function parentChoices(excluding) {
    return [['', '— top level —'], ...categories.filter((c) => c.id !== excluding)
      .map((c) => [c.id, `${'· '.repeat(c.depth)}${c.name}`])];
  }

  function row(c) {
    const rename = h('button', {type: 'button', testid: `category-rename-${c.id}`}, 'Rename');
    rename.addEventListener('click', () => {
      const name = prompt('New name', c.name);
      if (name) busy(rename, notice, () => update(c, {name}));
    });
    const move = select(parentChoices(c.id), c.parentId || '', {testid: `category-parent-${c.id}`});
    move.addEventListener('change', () => busy(move, notice, () => update(c, {parentId: move.value || null})));
    const remove = h('button', {type: 'button', class: 'danger', testid: `category-delete-${c.id}`}, 'Delete');
    remove.addEventListener('click', () => {
      if (confirm(`Delete ${c.name}? Its children move up; its content keeps no category.`)) {
        busy(remove, notice, async () => {
          await gql(/* GraphQL */ `mutation DeleteCategory($id: ID!) { deleteCategory(id: $id) }`, {id: c.id});
          await load();
        });
      }
    });
    return h('div', {class: 'row'}, rename, move, remove);
  }

  async function update(c, input) {
    await gql(/* GraphQL */ `mutation UpdateCategory($id: ID!, $input: UpdateCategoryRequest!) { updateCategory(id: $id, input: $input) { id } }`,
      {id: c.id, input});
    await load();
  }

  async function load() {
    const [{categories: found}, {tags}] = await Promise.all([
      gql(/* GraphQL */ `query Categories { categories { ...CategoryFields } } ${CATEGORY}`), gql(/* GraphQL */ `query Tags { tags { id name slug nodeCount } }`)]);
    categories = found;
    show(parent, select(parentChoices(null), '', {name: 'parentId', testid: 'category-parent'}));
    show(tree, table(categories, [
      ['Name', (c) => `${'— '.repeat(c.depth)}${c.name}`],
      ['Slug', (c) => c.slug],
      ['', row],
    ], 'No categories yet.'));
    show(tagList, table(tags, [
      ['Tag', (t) => t.name],
      ['Slug', (t) => t.slug],
      ['Pages and posts', (t) => String(t.nodeCount)],
    ], 'No tags yet: name them on a page or post.'));
  }

  show(main, h('h1', {}, 'Categories & tags'), notice.el, h('h2', {}, 'Categories'), tree, form,
    h('h2', {}, 'Tags'), tagList);
  await busy(null, notice, load);
}
