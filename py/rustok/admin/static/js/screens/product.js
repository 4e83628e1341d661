// A product: a new one with its options, variants, prices and stock in one createProduct; an existing one
// with its fields (updateProduct), each variant's prices (setPrice) and stock (adjustInventory), and more
// variants (updateProduct with variants without id).

import {gql} from '../api.js';
import {
  badge, busy, currencyDigits, field, formatMoney, formValues, fromMinorUnits, h, notices, select, show, table,
  toMinorUnits,
} from '../ui.js';

/** The refusal of a price that toMinorUnits could not read: how many decimals the currency allows. */
function badPrice(code) {
  const digits = currencyDigits(code);
  const words = digits === null ? `Price: ${code} is not a known currency`
    : `Price: a number with at most ${digits} decimals in ${code}, such as ${(19.9).toFixed(digits)}`;
  return Object.assign(new Error('price'), {code: 'VALIDATION_FAILED', words});
}

const PRODUCT = /* GraphQL */ `fragment ProductFields on Product { id title subtitle handle description status tags
  options { id title values { value } }
  variants { id title sku inventoryQuantity manageInventory options { option value }
             prices { amount currencyCode minQuantity priceListId } } }`;
const UPDATE = /* GraphQL */ `mutation UpdateProduct($id: ID!, $input: UpdateProductRequest!) { updateProduct(id: $id, input: $input) { id } }`;
const STATUSES = [['DRAFT', 'Draft'], ['PUBLISHED', 'Published'], ['ARCHIVED', 'Archived']];

export async function render(main, id) {
  const notice = notices();
  if (id === 'new') return renderNew(main, notice);
  const content = h('div');
  show(main, h('p', {}, h('a', {href: '#/products'}, '← Products')), notice.el, content);
  const load = async () => {
    const {product} = await gql(/* GraphQL */ `query Product($id: ID!) { product(id: $id) { ...ProductFields } } ${PRODUCT}`, {id});
    if (!product) throw Object.assign(new Error('No such product'), {code: 'NOT_FOUND', words: 'No such product'});
    renderExisting(content, notice, product, load);
  };
  await busy(null, notice, load);
  return undefined;
}

function productFields(product = {}) {
  return [
    h('div', {class: 'row'},
      h('label', {class: 'grow'}, 'Title', h('input', {name: 'title', required: true, value: product.title ?? '',
        id: 'product-title', testid: 'product-title'})),
      field('Handle', h('input', {name: 'handle', value: product.handle ?? '', placeholder: 'made from the title',
        testid: 'product-handle'})),
      field('Status', select(STATUSES, product.status || 'DRAFT', {name: 'status', id: 'product-status',
        testid: 'product-status'}))),
    field('Subtitle', h('input', {name: 'subtitle', value: product.subtitle ?? '', testid: 'product-subtitle'})),
    field('Description', h('textarea', {name: 'description', class: 'short', testid: 'product-description'},
      product.description ?? '')),
    field('Tags', h('input', {name: 'tags', value: (product.tags || []).join(', '), placeholder: 'comma separated',
      testid: 'product-tags'})),
  ];
}

function productInput(values) {
  const input = {
    title: values.title, status: values.status, subtitle: values.subtitle || null,
    description: values.description || null, tags: splitList(values.tags),
  };
  if (values.handle) input.handle = values.handle;
  return input;
}

function splitList(text) {
  return String(text || '').split(',').map((v) => v.trim()).filter(Boolean);
}

/** One variant's inputs; `options` are the product's option titles (one value each). */
function variantFields(index, options) {
  const n = (name, attrs = {}) => h('input', {name: `${name}-${index}`, testid: `variant-${name}-${index}`,
    id: `variant-${name}-${index}`, ...attrs});
  return h('div', {class: 'variant stack', testid: `variant-${index}`},
    h('div', {class: 'row'},
      field('Variant title', n('title', {placeholder: 'from the option values'})),
      field('SKU', n('sku')),
      ...options.map((option, j) => field(option, n(`option-${j}`, {required: true})))),
    h('div', {class: 'row'},
      field('Price', n('price', {inputmode: 'decimal', placeholder: '19.90'})),
      field('Currency', n('currency', {value: 'EUR', maxlength: 3, size: 4})),
      field('Stock', n('stock', {type: 'number', min: 0, value: 0}))));
}

function variantInput(values, index, options) {
  const get = (name) => String(values[`${name}-${index}`] ?? '').trim();
  const variant = {};
  if (get('title')) variant.title = get('title');
  if (get('sku')) variant.sku = get('sku');
  if (options.length) variant.options = options.map((option, j) => ({option, value: get(`option-${j}`)}));
  const currency = get('currency').toUpperCase() || 'EUR';
  if (get('price')) {
    const amount = toMinorUnits(get('price'), currency);
    if (amount === null) throw badPrice(currency);
    variant.prices = [{amount, currencyCode: currency}];
  }
  if (get('stock')) variant.inventoryQuantity = Number(get('stock'));
  return variant;
}

function renderNew(main, notice) {
  const optionRows = h('div', {class: 'stack'});
  const variantRows = h('div', {class: 'stack'});
  let optionCount = 0;
  let variantCount = 0;
  const optionTitles = () => [...optionRows.querySelectorAll('input[name^="option-title-"]')]
    .map((input) => input.value.trim()).filter(Boolean);

  function addOption() {
    const i = optionCount++;
    optionRows.append(h('div', {class: 'row'},
      field('Option', h('input', {name: `option-title-${i}`, placeholder: 'Size', testid: `option-title-${i}`})),
      h('label', {class: 'grow'}, 'Values', h('input', {name: `option-values-${i}`, placeholder: 'S, M, L',
        testid: `option-values-${i}`}))));
  }
  function redrawVariants() {
    // keeps what was typed: values are read back by name after the redraw
    const values = formValues(form);
    variantRows.replaceChildren(...Array.from({length: variantCount}, (_, i) => variantFields(i, optionTitles())));
    for (const [name, value] of Object.entries(values)) {
      const input = variantRows.querySelector(`[name="${CSS.escape(name)}"]`);
      if (input) input.value = value;
    }
  }
  function addVariant() {
    variantCount += 1;
    redrawVariants();
  }
  const addOptionButton = h('button', {type: 'button', testid: 'add-option'}, 'Add option');
  addOptionButton.addEventListener('click', () => { addOption(); });
  const addVariantButton = h('button', {type: 'button', testid: 'add-variant'}, 'Add variant');
  addVariantButton.addEventListener('click', addVariant);
  optionRows.addEventListener('change', redrawVariants);

  const save = h('button', {class: 'primary', type: 'submit', id: 'product-save', testid: 'product-save'}, 'Create product');
  const form = h('form', {class: 'stack', testid: 'product-form'},
    ...productFields(),
    h('h2', {}, 'Options'), h('p', {class: 'muted'}, 'Such as Size with S, M, L; each variant takes one value of each.'),
    optionRows, h('div', {}, addOptionButton),
    h('h2', {}, 'Variants'), h('p', {class: 'muted'}, 'None: one Default variant.'),
    variantRows, h('div', {}, addVariantButton),
    h('div', {}, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, notice, async () => {
      const values = formValues(form);
      const options = optionTitles();
      const input = productInput(values);
      input.options = Array.from({length: optionCount}, (_, i) => ({
        title: String(values[`option-title-${i}`] || '').trim(), values: splitList(values[`option-values-${i}`]),
      })).filter((o) => o.title);
      input.variants = Array.from({length: variantCount}, (_, i) => variantInput(values, i, options));
      const {createProduct} = await gql(/* GraphQL */ `mutation CreateProduct($input: CreateProductRequest!) { createProduct(input: $input) { id } }`,
        {input});
      location.hash = `#/products/${createProduct.id}`;
    });
  });
  addVariant();
  show(main, h('p', {}, h('a', {href: '#/products'}, '← Products')), h('h1', {}, 'New product'), notice.el,
    h('div', {class: 'panel'}, form));
}

function renderExisting(el, notice, product, reload) {
  const save = h('button', {class: 'primary', type: 'submit', id: 'product-save', testid: 'product-save'}, 'Save');
  const form = h('form', {class: 'stack panel', testid: 'product-form'}, ...productFields(product), h('div', {}, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, notice, async () => {
      await gql(UPDATE,
        {id: product.id, input: productInput(formValues(form))});
      await reload();
      notice.ok('Saved.');
    });
  });

  const options = product.options.map((o) => o.title);
  const addForm = h('form', {class: 'stack panel', testid: 'variant-add-form'}, h('h2', {}, 'Add a variant'),
    variantFields('new', options), h('div', {}, h('button', {type: 'submit', testid: 'variant-add'}, 'Add variant')));
  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(addForm.querySelector('button[type=submit]'), notice, async () => {
      const variant = variantInput(formValues(addForm), 'new', options);
      await gql(UPDATE,
        {id: product.id, input: {variants: [variant]}});
      await reload();
      notice.ok('Variant added.');
    });
  });

  show(el,
    h('h1', {}, product.title, ' ', badge(product.status)),
    form,
    h('h2', {}, 'Variants'),
    table(product.variants, [
      ['Variant', (v) => h('div', {}, h('strong', {}, v.title), h('div', {class: 'muted'}, v.sku || 'no SKU'),
        h('div', {class: 'muted'}, v.options.map((o) => `${o.option}: ${o.value}`).join(' · ')))],
      ['Prices', (v) => priceEditor(v, notice, reload)],
      ['Stock', (v) => stockEditor(v, notice, reload)],
    ]),
    addForm,
    deleteButton(product, notice));
}

function priceEditor(variant, notice, reload) {
  const amount = h('input', {size: 8, inputmode: 'decimal', placeholder: '19.90', testid: `price-amount-${variant.id}`});
  const currency = h('input', {size: 4, maxlength: 3, value: variant.prices[0]?.currencyCode || 'EUR',
    testid: `price-currency-${variant.id}`});
  const set = h('button', {testid: `price-set-${variant.id}`}, 'Set price');
  set.addEventListener('click', () => busy(set, notice, async () => {
    const code = currency.value.trim().toUpperCase();
    const minor = amount.value.trim() === '' ? null : toMinorUnits(amount.value, code);
    if (amount.value.trim() !== '' && minor === null) {
      throw badPrice(code);
    }
    await gql(/* GraphQL */ `mutation SetPrice($input: SetPriceRequest!) { setPrice(input: $input) { id } }`,
      {input: {variantId: variant.id, currencyCode: code, amount: minor}});
    await reload();
    notice.ok(minor === null ? `Price in ${code} removed.` : `Price set to ${formatMoney(minor, code)}.`);
  }));
  const base = variant.prices.filter((p) => !p.priceListId);
  if (base[0]) amount.value = fromMinorUnits(base[0].amount, base[0].currencyCode);
  return h('div', {class: 'stack'},
    h('div', {}, variant.prices.map((p) => h('div', {}, formatMoney(p.amount, p.currencyCode),
      p.minQuantity > 1 ? ` from ${p.minQuantity}` : '', p.priceListId ? ' (price list)' : '')),
    variant.prices.length ? null : h('span', {class: 'muted'}, 'no price')),
    h('div', {class: 'row'}, amount, currency, set),
    h('span', {class: 'muted'}, 'An empty amount removes the price in that currency.'));
}

function stockEditor(variant, notice, reload) {
  if (!variant.manageInventory) return h('span', {class: 'muted'}, 'not tracked');
  const delta = h('input', {type: 'number', size: 5, placeholder: '+10 / -2', testid: `stock-delta-${variant.id}`});
  const adjust = h('button', {testid: `stock-adjust-${variant.id}`}, 'Adjust');
  adjust.addEventListener('click', () => busy(adjust, notice, async () => {
    const change = Number(delta.value);
    if (!Number.isInteger(change) || change === 0) {
      throw Object.assign(new Error('delta'), {code: 'VALIDATION_FAILED', words: 'Stock change: a whole number, not 0'});
    }
    const {adjustInventory} = await gql(/* GraphQL */ `mutation AdjustInventory($input: AdjustInventoryRequest!) { adjustInventory(input: $input) {
      availableQuantity } }`, {input: {variantId: variant.id, delta: change, reason: 'admin'}});
    await reload();
    notice.ok(`${adjustInventory.availableQuantity} available now.`);
  }));
  return h('div', {class: 'stack'}, h('strong', {testid: `stock-${variant.id}`}, `${variant.inventoryQuantity} available`),
    h('div', {class: 'row'}, delta, adjust));
}

function deleteButton(product, notice) {
  const button = h('button', {class: 'danger', testid: 'product-delete'}, 'Delete product');
  button.addEventListener('click', () => {
    if (!confirm(`Delete ${product.title}?`)) return;
    busy(button, notice, async () => {
      await gql(/* GraphQL */ `mutation DeleteProduct($id: ID!) { deleteProduct(id: $id) { id } }`, {id: product.id});
      location.hash = '#/products';
    });
  });
  return h('div', {class: 'panel'}, button);
}
