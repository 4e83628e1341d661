// The admin's shell: sign-in when there is no session, else a sidebar and the screen the hash names
// (#/products/ID). Each screen is a module in screens/ exporting `render(main, params)`, which may return
// a function that stops what it started (the event feed's socket).

import {gql, signOut} from './api.js';
import {isSuperAdmin, onChange, session} from './session.js';
import {h, setCurrencies, show} from './ui.js';

const NAV = [
  ['dashboard', '#/', 'Dashboard'],
  ['tenants', '#/tenants', 'Tenants', isSuperAdmin],
  ['modules', '#/modules', 'Modules'],
  ['users', '#/users', 'Users & roles'],
  ['content', '#/content', 'Content'],
  ['taxonomy', '#/taxonomy', 'Categories & tags'],
  ['comments', '#/comments', 'Comments'],
  ['products', '#/products', 'Products'],
  ['orders', '#/orders', 'Orders'],
  ['webhooks', '#/webhooks', 'Webhooks'],
  ['index', '#/index', 'Index'],
  ['events', '#/events', 'Live events'],
];

// [pattern, screen module, nav entry it belongs to]
const ROUTES = [
  [/^\/$/, 'dashboard', 'dashboard'],
  [/^\/tenants$/, 'tenants', 'tenants'],
  [/^\/modules$/, 'modules', 'modules'],
  [/^\/users$/, 'users', 'users'],
  [/^\/content$/, 'content', 'content'],
  [/^\/content\/new\/(page|post)$/, 'editor', 'content'],
  [/^\/content\/([0-9A-Za-z-]+)$/, 'editor', 'content'],
  [/^\/taxonomy$/, 'taxonomy', 'taxonomy'],
  [/^\/comments$/, 'comments', 'comments'],
  [/^\/products$/, 'products', 'products'],
  [/^\/products\/(new)$/, 'product', 'products'],
  [/^\/products\/([0-9A-Za-z]+)$/, 'product', 'products'],
  [/^\/orders$/, 'orders', 'orders'],
  [/^\/orders\/([0-9A-Za-z]+)$/, 'order', 'orders'],
  [/^\/webhooks$/, 'webhooks', 'webhooks'],
  [/^\/index$/, 'indexing', 'index'],
  [/^\/events$/, 'events', 'events'],
];

// Minor units per currency, the API's (ui.js turns typed prices into amounts with them): once per page load.
let currencies = null;
function loadCurrencies() {
  currencies ??= gql(/* GraphQL */ `query Currencies { currencies { code minorUnits } }`)
    .then((data) => setCurrencies(data.currencies))
    .catch(() => { currencies = null; });  // e.g. commerce not installed: prices cannot be typed; retried later
  return currencies;
}

const root = document.getElementById('app');
let stopScreen = null;
let generation = 0;  // a newer route() supersedes a screen still rendering

async function route() {
  const mine = ++generation;
  if (stopScreen) {
    stopScreen();
    stopScreen = null;
  }
  const path = location.hash.replace(/^#/, '') || '/';
  if (!session()) {
    const {render} = await import('./screens/signin.js');
    render(show(root));
    return;
  }
  await loadCurrencies();
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  const [pattern, screen, navKey] = found || [/^/, 'notfound', null];
  const main = h('main', {class: 'main', testid: `screen-${screen}`});
  show(root, h('div', {class: 'layout'}, sidebar(navKey), main));
  const module = await import(`./screens/${screen}.js`);
  const params = path.match(pattern).slice(1);
  const stop = await module.render(main, ...params);
  if (typeof stop !== 'function') return;
  if (mine === generation) stopScreen = stop;
  else stop();  // the person moved on while it rendered
}

function sidebar(active) {
  const current = session();
  return h('nav', {class: 'sidebar', 'aria-label': 'Sections'},
    h('div', {class: 'brand'}, 'RusToK admin'),
    NAV.filter(([, , , visible]) => !visible || visible()).map(([key, href, label]) =>
      h('a', {href, class: key === active ? 'active' : '', testid: `nav-${key}`}, label)),
    h('div', {class: 'who'},
      h('div', {}, current.user.email),
      h('div', {class: 'muted'}, `${current.user.role.toLowerCase()} · ${current.tenant}`),
      h('a', {href: '#/', testid: 'sign-out', onclick: async (event) => {
        event.preventDefault();
        await signOut();
      }}, 'Sign out')));
}

window.addEventListener('hashchange', route);
onChange((current) => {
  if (!current) route();
});
route();
