// Tenants (super admins): every tenant, and a new one with its first admin.

import {gql} from '../api.js';
import {badge, busy, field, formatDate, formValues, h, notices, show, table} from '../ui.js';

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const form = h('form', {class: 'stack panel', testid: 'tenant-form'},
    h('h2', {}, 'New tenant'),
    h('div', {class: 'row'},
      field('Slug', h('input', {name: 'slug', required: true, pattern: '[a-z0-9][a-z0-9\\-]*', testid: 'tenant-slug'})),
      field('Name', h('input', {name: 'name', required: true, testid: 'tenant-name'}))),
    h('div', {class: 'row'},
      field('First admin email (optional)', h('input', {name: 'adminEmail', type: 'email', autocomplete: 'off', testid: 'tenant-admin-email'})),
      field('Their password', h('input', {name: 'adminPassword', type: 'password', minlength: 8,
        autocomplete: 'new-password', testid: 'tenant-admin-password'}))),
    h('div', {}, h('button', {class: 'primary', type: 'submit', testid: 'tenant-save'}, 'Create tenant')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = formValues(form);
    const input = {slug: values.slug.trim(), name: values.name.trim()};
    if (values.adminEmail) Object.assign(input, {adminEmail: values.adminEmail, adminPassword: values.adminPassword});
    busy(form.querySelector('button'), notice, async () => {
      const {createTenant} = await gql(/* GraphQL */ `mutation CreateTenant($input: CreateTenantRequest!) { createTenant(input: $input) { slug } }`,
        {input});
      notice.ok(`Tenant ${createTenant.slug} created with every installed module enabled.`);
      form.reset();
      await load();
    });
  });

  async function load() {
    const {tenants} = await gql(/* GraphQL */ `query Tenants { tenants { id slug name isActive createdAt } }`);
    show(list, table(tenants, [
      ['Slug', (t) => t.slug],
      ['Name', (t) => t.name],
      ['State', (t) => badge(t.isActive ? 'on' : 'off')],
      ['Created', (t) => formatDate(t.createdAt)],
    ]));
  }

  show(main, h('h1', {}, 'Tenants'), notice.el, list, form);
  await busy(null, notice, load);
}
