// Sign-in: tenant slug, email and password, through the signIn mutation.

import {signIn} from '../api.js';
import {busy, field, h, notices, show} from '../ui.js';

export function render(root) {
  const notice = notices();
  const remembered = localStorage.getItem('rustok.admin.tenant') || '';
  const form = h('form', {class: 'stack', testid: 'signin-form', id: 'signin-form'},
    field('Tenant', h('input', {name: 'tenant', id: 'signin-tenant', testid: 'signin-tenant', required: true,
      value: remembered, autocomplete: 'organization', placeholder: 'slug, such as demo'})),
    field('Email', h('input', {name: 'email', id: 'signin-email', testid: 'signin-email', type: 'email',
      required: true, autocomplete: 'username'})),
    field('Password', h('input', {name: 'password', id: 'signin-password', testid: 'signin-password',
      type: 'password', required: true, autocomplete: 'current-password'})),
    h('button', {class: 'primary', type: 'submit', id: 'signin-submit', testid: 'signin-submit'}, 'Sign in'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    const tenant = values.tenant.trim().toLowerCase();
    busy(form.querySelector('button'), notice, async () => {
      try {
        await signIn(tenant, values.email.trim(), values.password);
      } catch (error) {
        if (error.code === 'NOT_FOUND') error.words = `No active tenant is called "${tenant}"`;
        throw error;
      }
      localStorage.setItem('rustok.admin.tenant', tenant);
      window.dispatchEvent(new HashChangeEvent('hashchange'));  // the screen the address names
    });
  });
  show(root, h('div', {class: 'signin panel'}, h('h1', {}, 'Sign in to RusToK'), notice.el, form));
}
