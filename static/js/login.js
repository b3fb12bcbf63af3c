// The login box shared by the host console and the producer desk: shows a form until someone
// with the needed role is logged in, then hands the user to the page.
import { login, logout, whoami } from './api.js';
import { clear, h, say } from './dom.js';
import * as i18n from './i18n.js';

// Which roles each role includes (as the server's kernel/identity.py says).
const INCLUDES = { producer: ['host', 'captioner'], host: ['captioner'], captioner: [] };

function canAct(user, role) {
  return !!user && (user.role === role || (INCLUDES[user.role] || []).includes(role));
}

/**
 * Resolves with the logged-in user once they hold `role`. `box` holds the login form,
 * `whoEl` the "logged in as … / log out" line.
 */
export async function requireRole(box, whoEl, role) {
  let user = null;
  try {
    user = await whoami();
  } catch {
    user = null;
  }
  if (canAct(user, role)) {
    showWho(whoEl, user);
    box.hidden = true;
    return user;
  }
  return new Promise((resolve) => {
    renderForm(box, role, user, (loggedIn) => {
      showWho(whoEl, loggedIn);
      box.hidden = true;
      resolve(loggedIn);
    });
  });
}

function renderForm(box, role, current, done) {
  clear(box);
  box.hidden = false;
  const status = h('p', { class: 'status', role: 'alert', hidden: true });
  const username = h('input', { id: 'login-username', type: 'text', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: 64 });
  const password = h('input', { id: 'login-password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const submit = h('button', { class: 'btn', type: 'submit', 'data-i18n': 'login.submit' }, i18n.t('login.submit'));
  const form = h('form', { id: 'login-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'login-username', 'data-i18n': 'login.username' }, i18n.t('login.username')), username),
    h('div', { class: 'field' }, h('label', { for: 'login-password', 'data-i18n': 'login.password' }, i18n.t('login.password')), password),
    status, submit);
  box.append(h('h1', { 'data-i18n': 'login.title' }, i18n.t('login.title')));
  if (current) {
    say(status, i18n.t('login.needRole', { role: i18n.t(`role.${role}`) }), 'error');
  }
  box.append(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const user = await login(username.value.trim().toLowerCase(), password.value);
      if (!canAct(user, role)) {
        say(status, i18n.t('login.needRole', { role: i18n.t(`role.${role}`) }), 'error');
        submit.disabled = false;
        return;
      }
      password.value = '';
      done(user);
    } catch (err) {
      say(status, i18n.errText(err), 'error');
      submit.disabled = false;
    }
  });
  username.focus();
}

function showWho(whoEl, user) {
  if (!whoEl) return;
  clear(whoEl);
  const render = () => {
    clear(whoEl);
    whoEl.append(
      h('span', { class: 'small' }, i18n.t('login.as', { name: user.username, role: i18n.t(`role.${user.role}`) })),
      ' ',
      h('button', {
        type: 'button', class: 'btn small secondary', id: 'logout',
        onclick: async () => { await logout().catch(() => {}); location.reload(); },
      }, i18n.t('login.logout')),
    );
  };
  render();
  i18n.onLangChange(render);
}

export { canAct };
