// Webhooks: create (the signing secret is shown once), switch on and off, rotate the secret, delete, and
// each webhook's recent deliveries with their attempts.

import {gql} from '../api.js';
import {badge, busy, field, formatDate, formValues, h, notices, show, table} from '../ui.js';

const WEBHOOK = /* GraphQL */ `fragment WebhookFields on Webhook { id url eventTypes description isActive secretHint createdAt }`;

export async function render(main) {
  const notice = notices();
  const list = h('div');
  const secret = h('div');
  const deliveries = h('div', {testid: 'webhook-deliveries'});

  function revealSecret(webhook) {
    show(secret, h('div', {class: 'notice ok'}, 'Signing secret for ', webhook.url, ' (shown once; keep it now): ',
      h('span', {class: 'secret', testid: 'webhook-secret'}, webhook.secret)));
  }

  const form = h('form', {class: 'stack panel', testid: 'webhook-form'},
    h('h2', {}, 'New webhook'),
    h('div', {class: 'row'},
      h('label', {class: 'grow'}, 'URL', h('input', {name: 'url', type: 'url', required: true,
        placeholder: 'the receiver URL (https)', testid: 'webhook-url'})),
      field('Event types', h('input', {name: 'eventTypes', placeholder: 'OrderPlaced, NodePublished (empty: all)',
        testid: 'webhook-events'}))),
    field('Description', h('input', {name: 'description', testid: 'webhook-description'})),
    h('div', {}, h('button', {class: 'primary', type: 'submit', testid: 'webhook-save'}, 'Create webhook')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = formValues(form);
    const input = {url: values.url, description: values.description,
      eventTypes: values.eventTypes.split(',').map((t) => t.trim()).filter(Boolean)};
    busy(form.querySelector('button'), notice, async () => {
      const {createWebhook} = await gql(/* GraphQL */ `mutation CreateWebhook($input: CreateWebhookRequest!) { createWebhook(input: $input) {
        ...WebhookFields secret } } ${WEBHOOK}`, {input});
      revealSecret(createWebhook);
      form.reset();
      await load();
    });
  });

  const update = (webhook, input, button) => busy(button, notice, async () => {
    const {updateWebhook} = await gql(/* GraphQL */ `mutation UpdateWebhook($id: ID!, $input: UpdateWebhookRequest!) { updateWebhook(id: $id, input: $input) {
      ...WebhookFields secret } } ${WEBHOOK}`, {id: webhook.id, input});
    if (updateWebhook.secret) revealSecret(updateWebhook);
    await load();
  });

  function controls(w) {
    const toggle = h('button', {testid: `webhook-toggle-${w.id}`}, w.isActive ? 'Pause' : 'Resume');
    toggle.addEventListener('click', () => update(w, {isActive: !w.isActive}, toggle));
    const rotate = h('button', {testid: `webhook-rotate-${w.id}`}, 'New secret');
    rotate.addEventListener('click', () => update(w, {rotateSecret: true}, rotate));
    const log = h('button', {testid: `webhook-log-${w.id}`}, 'Deliveries');
    log.addEventListener('click', () => busy(log, notice, () => showDeliveries(w)));
    const remove = h('button', {class: 'danger', testid: `webhook-delete-${w.id}`}, 'Delete');
    remove.addEventListener('click', () => {
      if (confirm(`Delete the webhook to ${w.url}?`)) {
        busy(remove, notice, async () => {
          await gql(/* GraphQL */ `mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) }`, {id: w.id});
          await load();
        });
      }
    });
    return h('div', {class: 'row'}, toggle, rotate, log, remove);
  }

  async function showDeliveries(webhook) {
    const {webhookDeliveries} = await gql(/* GraphQL */ `query WebhookDeliveries($id: ID!) { webhookDeliveries(webhookId: $id, first: 20) { edges { node {
      id eventType status attempts lastStatusCode lastError deliveredAt nextAttemptAt createdAt } } } }`, {id: webhook.id});
    show(deliveries, h('h2', {}, `Deliveries to ${webhook.url}`), table(webhookDeliveries.edges.map((e) => e.node), [
      ['Event', (d) => d.eventType],
      ['Status', (d) => badge(d.status)],
      ['Attempts', (d) => String(d.attempts)],
      ['Last answer', (d) => d.lastStatusCode ? String(d.lastStatusCode) : (d.lastError || '—')],
      ['Created', (d) => formatDate(d.createdAt)],
      ['Delivered / next try', (d) => formatDate(d.deliveredAt || d.nextAttemptAt)],
    ], 'Nothing delivered yet.'));
  }

  async function load() {
    const {webhooks} = await gql(/* GraphQL */ `query Webhooks { webhooks { ...WebhookFields } } ${WEBHOOK}`);
    show(list, table(webhooks, [
      ['URL', (w) => h('div', {}, w.url, h('div', {class: 'muted'}, w.description || ''))],
      ['Events', (w) => w.eventTypes.join(', ') || 'all'],
      ['State', (w) => badge(w.isActive ? 'on' : 'off')],
      ['Secret', (w) => `…${w.secretHint}`],
      ['', controls],
    ], 'No webhooks yet.'));
  }

  show(main, h('h1', {}, 'Webhooks'), notice.el, secret, list, form, deliveries);
  await busy(null, notice, load);
}
