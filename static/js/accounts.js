// The producer desk's account management: list, add, change a role, reset a password, remove
// (GET/POST /api/users, PATCH/DELETE /api/users/{name}). The server ends the sessions of any
// account it changes, and keeps the last producer; one click per action, removal confirmed.
import { del, get, patch, post } from './api.js';
import { $, clear, h, say } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';

const state = { users: [], me: null };

function status(text, kind) {
  say($('#accounts-status'), text, kind);
}

async function load() {
  try {
    state.users = (await get('/api/users')).users;
    render();
  } catch (err) {
    status(errText(err), 'error');
  }
}

function roleSelect(user) {
  const select = h('select', { 'aria-label': i18n.t('accounts.roleOf', { name: user.username }), dataset: { action: 'role' } },
    ...['host', 'producer', 'captioner'].map((role) => h('option', { value: role, selected: role === user.role }, i18n.t(`role.${role}Name`))));
  select.disabled = user.username === state.me;
  select.addEventListener('change', async () => {
    try {
      await patch(`/api/users/${encodeURIComponent(user.username)}`, { role: select.value });
      status(i18n.t('accounts.roleChanged', { name: user.username }), 'ok');
    } catch (err) {
      status(errText(err), 'error');
    }
    await load();
  });
  return select;
}

function passwordReset(user) {
  const input = h('input', { type: 'password', autocomplete: 'new-password', maxlength: 1024, hidden: true,
    'aria-label': i18n.t('accounts.newPasswordOf', { name: user.username }) });
  const save = h('button', { type: 'button', class: 'btn small', hidden: true, dataset: { action: 'password-save' } }, i18n.t('accounts.save'));
  const open = h('button', { type: 'button', class: 'btn small secondary', dataset: { action: 'password' } }, i18n.t('accounts.resetPassword'));
  open.addEventListener('click', () => { open.hidden = true; input.hidden = false; save.hidden = false; input.focus(); });
  save.addEventListener('click', async () => {
    try {
      await patch(`/api/users/${encodeURIComponent(user.username)}`, { password: input.value });
      input.value = '';
      status(i18n.t('accounts.passwordReset', { name: user.username }), 'ok');
      if (user.username === state.me) location.reload(); // her own sessions ended too
      await load();
    } catch (err) {
      status(errText(err), 'error');
      input.setAttribute('aria-invalid', 'true');
    }
  });
  return [open, input, save];
}

function removal(user) {
  if (user.username === state.me) return [];
  const confirmBtn = h('button', { type: 'button', class: 'btn small danger', hidden: true, dataset: { action: 'remove-confirm' } }, i18n.t('produce.confirmDelete'));
  const removeBtn = h('button', { type: 'button', class: 'btn small secondary', dataset: { action: 'remove' } }, i18n.t('produce.delete'));
  removeBtn.addEventListener('click', () => { removeBtn.hidden = true; confirmBtn.hidden = false; confirmBtn.focus(); });
  confirmBtn.addEventListener('click', async () => {
    try {
      await del(`/api/users/${encodeURIComponent(user.username)}`);
      status(i18n.t('accounts.removed', { name: user.username }), 'ok');
    } catch (err) {
      status(errText(err), 'error');
    }
    await load();
  });
  return [removeBtn, confirmBtn];
}

function render() {
  const body = clear($('#accounts-body'));
  for (const user of state.users) {
    body.append(h('tr', { dataset: { username: user.username } },
      h('td', {}, user.username, user.username === state.me ? h('span', { class: 'small muted' }, ` (${i18n.t('accounts.you')})`) : null),
      h('td', {}, roleSelect(user)),
      h('td', { class: 'actions' }, ...passwordReset(user), ...removal(user))));
  }
}

async function add(event) {
  event.preventDefault();
  const body = {
    username: $('#a-username').value.trim().toLowerCase(),
    role: $('#a-role').value,
    password: $('#a-password').value,
  };
  for (const id of ['#a-username', '#a-password']) $(id).removeAttribute('aria-invalid');
  try {
    await post('/api/users', body);
    $('#account-form').reset();
    status(i18n.t('accounts.added', { name: body.username }), 'ok');
    await load();
  } catch (err) {
    status(errText(err), 'error');
    if (err.code === 'invalid_username' || err.code === 'username_taken') $('#a-username').setAttribute('aria-invalid', 'true');
    if (err.code === 'invalid_password') $('#a-password').setAttribute('aria-invalid', 'true');
  }
}

/** Shows the accounts to `me` (a producer's username) and wires the add form. */
export async function manageAccounts(me) {
  state.me = me;
  $('#account-form').addEventListener('submit', add);
  i18n.onLangChange(render);
  await load();
}
