// First-run page: the one-time token travels in the URL fragment (#token=...), which browsers
// never send to a server or put in a Referer; it is sent once, in the POST body.
import { login, post } from './api.js';
import { $, say } from './dom.js';
import * as i18n from './i18n.js';

const USERNAME_RE = /^[a-z0-9][a-z0-9_.-]{1,31}$/;

function tokenFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  return params.get('token') || '';
}

function main() {
  i18n.init();
  const token = tokenFromHash();
  // Keep the token out of the address bar (and so out of history and screenshots).
  if (location.hash) history.replaceState(null, '', location.pathname);
  const form = $('#setup-form');
  const status = $('#setup-status');
  const submit = $('#setup-submit');
  if (!token) say(status, i18n.t('setup.noToken'), 'error');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = $('#username').value.trim().toLowerCase();
    const password = $('#password').value;
    const password2 = $('#password2').value;
    if (!token) return say(status, i18n.t('setup.noToken'), 'error');
    if (!USERNAME_RE.test(username)) return say(status, i18n.t('setup.badUsername'), 'error');
    if (password.length < 10) return say(status, i18n.t('setup.tooShort'), 'error');
    if (password !== password2) return say(status, i18n.t('setup.mismatch'), 'error');
    submit.disabled = true;
    say(status, '', 'info');
    try {
      await post('/api/setup', { token, username, password });
      await login(username, password);
      say(status, i18n.t('setup.done'), 'ok');
      form.hidden = true;
      $('#setup-done').hidden = false;
      setTimeout(() => { location.assign('/produce'); }, 800);
    } catch (err) {
      say(status, i18n.errText(err), 'error');
      submit.disabled = false;
    }
  });
}

main();
