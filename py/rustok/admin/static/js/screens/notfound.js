import {h, show} from '../ui.js';

export function render(main) {
  show(main, h('h1', {}, 'Not found'), h('p', {}, h('a', {href: '#/'}, 'Back to the dashboard')));
}
