// Users and roles: the tenant's users with their role (changed in place), and a form to add a user.

import {gql} from '../api.js';
import {isSuperAdmin, session} from '../session.js';
import {badge, busy, field, formatDate, formValues, h, notices, select, show, table} from '../ui.js';

const ROLES = ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'CUSTOMER'];
const USER = /* GraphQL */ `fragment UserFields on User { id email role status displayName createdAt }`;

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const more = h('button', {testid: 'users-more'}, 'Load more');
  let users = [];
  let cursor = null;

  const roleChoices = ROLES.filter((r) => r !== 'SUPER_ADMIN' || isSuperAdmin()).map((r) => [r, r.toLowerCase()]);
  const form = h('form', {class: 'stack panel', testid: 'user-form'},
    h('h2', {}, 'Add a user'),
    h('div', {class: 'row'},
      field('Email', h('input', {name: 'email', type: 'email', required: true, autocomplete: 'off', testid: 'user-email'})),
      field('Name', h('input', {name: 'displayName', testid: 'user-name'})),
      field('Password', h('input', {name: 'password', type: 'password', minlength: 8, required: true,
        autocomplete: 'new-password', testid: 'user-password'})),
      field('Role', select(roleChoices, 'MANAGER', {name: 'role', testid: 'user-role'}))),
    h('div', {}, h('button', {class: 'primary', type: 'submit', testid: 'user-save'}, 'Add user')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = formValues(form);
    if (!input.displayName) delete input.displayName;
    busy(form.querySelector('button'), notice, async () => {
      const {createUser} = await gql(/* GraphQL */ `mutation CreateUser($input: CreateUserRequest!) { createUser(input: $input) { ...UserFields } } ${USER}`,
        {input});
      users.push(createUser);
      draw();
      form.reset();
      notice.ok(`${createUser.email} can now sign in.`);
    });
  });

  function roleControl(user) {
    if (user.id === session().user.id) return badge(user.role);
    const options = ROLES.filter((r) => r !== 'SUPER_ADMIN' || isSuperAdmin() || user.role === 'SUPER_ADMIN');
    const control = select(options.map((r) => [r, r.toLowerCase()]), user.role, {testid: `user-role-${user.id}`});
    control.addEventListener('change', () => busy(control, notice, async () => {
      try {
        const {setUserRole} = await gql(/* GraphQL */ `mutation SetUserRole($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { ...UserFields } } ${USER}`,
          {id: user.id, role: control.value});
        Object.assign(user, setUserRole);
        notice.ok(`${user.email} is now ${user.role.toLowerCase()}.`);
      } catch (error) {
        control.value = user.role;
        throw error;
      }
    }));
    return control;
  }

  function draw() {
    show(list, table(users, [
      ['Email', (u) => u.email],
      ['Name', (u) => u.displayName || '—'],
      ['Role', roleControl],
      ['Status', (u) => badge(u.status)],
      ['Since', (u) => formatDate(u.createdAt)],
    ]), cursor ? more : null);
  }

  async function load() {
    const {users: page} = await gql(/* GraphQL */ `query Users($after: String) { users(first: 50, after: $after) {
      edges { node { ...UserFields } } pageInfo { hasNextPage endCursor } } } ${USER}`, {after: cursor});
    users = users.concat(page.edges.map((e) => e.node));
    cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    draw();
  }
  more.addEventListener('click', () => busy(more, notice, load));

  show(main, h('h1', {}, 'Users & roles'), notice.el, list, form);
  await busy(null, notice, load);
}
