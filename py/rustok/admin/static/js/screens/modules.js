// Modules: the installed ones and whether each is enabled for this tenant; switch them on and off.

import {gql} from '../api.js';
import {badge, busy, h, notices, show, table} from '../ui.js';

const FIELDS = /* GraphQL */ `fragment ModuleFields on Module { slug name description version dependencies enabled }`;
// one document per mutation, each written out whole, so tools that read the documents (graphql-codegen) see them
const TOGGLE = {
  enableModule: /* GraphQL */ `mutation EnableModule($slug: String!) { enableModule(slug: $slug) { ...ModuleFields } } ${FIELDS}`,
  disableModule: /* GraphQL */ `mutation DisableModule($slug: String!) { disableModule(slug: $slug) { ...ModuleFields } } ${FIELDS}`,
};

export async function render(main) {
  const notice = notices();
  const list = h('div');
  show(main, h('h1', {}, 'Modules'), notice.el, list);

  function draw(modules) {
    show(list, table(modules, [
      ['Module', (m) => h('div', {}, h('strong', {}, m.name), h('div', {class: 'muted'}, m.description))],
      ['Version', (m) => m.version],
      ['Needs', (m) => m.dependencies.join(', ') || '—'],
      ['State', (m) => badge(m.enabled ? 'on' : 'off')],
      ['', (m) => {
        const button = h('button', {testid: `module-toggle-${m.slug}`, class: m.enabled ? 'danger' : 'primary'},
          m.enabled ? 'Disable' : 'Enable');
        button.addEventListener('click', () => busy(button, notice, async () => {
          const name = m.enabled ? 'disableModule' : 'enableModule';
          const data = await gql(TOGGLE[name], {slug: m.slug});
          draw(data[name]);
          notice.ok(`${m.name} ${m.enabled ? 'disabled' : 'enabled'}.`);
        }));
        return button;
      }],
    ]));
  }

  await busy(null, notice, async () => draw((await gql(/* GraphQL */ `query Modules { modules { ...ModuleFields } } ${FIELDS}`)).modules));
}
