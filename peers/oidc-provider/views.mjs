// The provider's pages: sign-in, signing out, signed out, errors. Plain HTML with one inline style sheet and
// no external resources (the machines running this have no internet). They look like a product of their
// own (the IdP is not Deskgate): a centred card with the IdP's name, labelled fields, and, when the
// configuration asks for it, the demo accounts as hints that fill the form in.
//
// brand: {name, tagline} from the configuration; hints: [{name, organization, email, password}].

export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Contrast (WCAG): text 17.2:1 and muted 8.0:1 on white, muted 7.0:1 on the page, the primary button 10.1:1,
// the error 5.7:1 on its tint.
const STYLE = `
:root{--ink:#161a2e;--muted:#4a5068;--line:#c9cde0;--bg:#eef0f7;--card:#fff;--brand:#3b2f9e;
--brand-dark:#2a2075;--focus:#6c5ce7;--error:#b42318;--error-bg:#fdecea;--hint:#f6f5fd}
*{box-sizing:border-box}
html{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);
background:var(--bg)}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;padding:2.5rem 1rem}
main{width:100%;max-width:25rem;display:flex;flex-direction:column;gap:1rem}
.brand{display:flex;align-items:center;gap:.6rem;justify-content:center;margin-bottom:.5rem;font-weight:700;
font-size:1.25rem;letter-spacing:.01em;color:var(--brand-dark)}
.brand small{display:block;font-weight:400;font-size:.8rem;color:var(--muted);letter-spacing:0}
.card{background:var(--card);border-radius:12px;box-shadow:0 1px 2px rgba(22,26,46,.08),0 8px 24px rgba(22,26,46,.08);
padding:2rem}
h1{font-size:1.5rem;margin:0 0 .25rem;text-align:center}
h2{font-size:1rem;margin:0 0 .25rem}
.lead{margin:0 0 1.5rem;text-align:center;color:var(--muted)}
.card>:last-child{margin-bottom:0}
.field{margin-bottom:1rem}
label{display:block;font-weight:600;font-size:.9rem;margin-bottom:.3rem}
input{display:block;width:100%;font:inherit;padding:.6rem .75rem;border:1px solid var(--line);border-radius:8px;
background:#fff;color:var(--ink)}
input:focus{outline:3px solid var(--focus);outline-offset:1px;border-color:var(--brand)}
button{font:inherit;cursor:pointer;border-radius:8px}
button:focus-visible,a:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.primary{display:block;width:100%;padding:.7rem;border:0;background:var(--brand);color:#fff;font-weight:600}
.primary:hover{background:var(--brand-dark)}
.secondary{padding:.3rem .8rem;border:1px solid var(--brand);background:#fff;color:var(--brand);font-weight:600}
.secondary:hover{background:var(--hint)}
.alert{margin:0 0 1rem;padding:.75rem 1rem;border-radius:8px;background:var(--error-bg);color:var(--error);
border-left:4px solid var(--error)}
.note{margin:1.25rem 0 0;font-size:.875rem;color:var(--muted);text-align:center}
a{color:var(--brand)}
.hints p{margin:0 0 .75rem;font-size:.9rem;color:var(--muted)}
.hints ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:.5rem}
.hints li{display:flex;align-items:center;justify-content:space-between;gap:.75rem;padding:.6rem .75rem;
border:1px solid var(--line);border-radius:8px;background:var(--hint)}
.hints .who{min-width:0;overflow-wrap:anywhere;font-size:.9rem}
.hints strong{display:block}
.hints code{font:.85rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
footer{margin-top:auto;padding-top:2rem;font-size:.8rem;color:var(--muted);text-align:center}
@media (max-width:30rem){body{padding:1.25rem .75rem}.card{padding:1.5rem 1.25rem}}`;

const LOGO = `<svg width="36" height="36" viewBox="0 0 36 36" aria-hidden="true" focusable="false">
<circle cx="18" cy="18" r="16" fill="#3b2f9e"/><circle cx="18" cy="18" r="7" fill="none" stroke="#fff" stroke-width="3"/>
<circle cx="27" cy="11" r="3" fill="#c4b5fd"/></svg>`;

export function page(brand, title, body, { script = '' } = {}) {
  const name = escapeHtml(brand.name);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${name}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="brand">${LOGO}<span>${name}${brand.tagline ? `<small>${escapeHtml(brand.tagline)}</small>` : ''}</span></div>
${body}
</main>
<footer>${name} · runs on this computer only</footer>
${script ? `<script>${script}</script>` : ''}
</body>
</html>`;
}

// What the client asked for, in words: oidc-provider's own consent is granted automatically (see
// server.mjs), so the sign-in page says what the person is agreeing to share.
const SHARED = [['profile', 'name'], ['email', 'e-mail address'], ['groups', 'groups'],
  ['organization', 'organization']];

function sharing(clientName, scope) {
  const asked = new Set(String(scope ?? '').split(' '));
  const items = SHARED.filter(([s]) => asked.has(s)).map(([, words]) => words);
  if (items.length === 0) return '';
  const list = items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  return `<p class="note">Signing in shares your ${escapeHtml(list)} with ${escapeHtml(clientName)}.</p>`;
}

function hintList(hints) {
  if (!hints?.length) return '';
  const rows = hints.map((h) => `<li><span class="who"><strong>${escapeHtml(h.name)}</strong>
${escapeHtml(h.organization ?? '')}<br><code>${escapeHtml(h.email)}</code><br>password <code>${escapeHtml(h.password)}</code></span>
<button type="button" class="secondary" data-login="${escapeHtml(h.email)}" data-password="${escapeHtml(h.password)}">Use<span class="visually-hidden"> ${escapeHtml(h.name)}'s account</span></button></li>`);
  return `<section class="card hints" aria-labelledby="demo-accounts">
<h2 id="demo-accounts">Demo accounts</h2>
<p>These people exist in the demo's help desk too. Pick one to fill in the form.</p>
<ul>${rows.join('\n')}</ul>
</section>`;
}

// Fills the form from a hint and moves to the Sign in button (the fields stay editable).
const HINT_SCRIPT = `document.querySelectorAll('[data-login]').forEach(function (b) {
  b.addEventListener('click', function () {
    document.getElementById('login').value = b.dataset.login;
    document.getElementById('password').value = b.dataset.password;
    document.getElementById('sign-in').focus();
  });
});`;

export function loginPage(brand, { action, cancel, clientName, scope, login, error, hints }) {
  const body = `<div class="card">
<h1>Sign in</h1>
<p class="lead">to continue to ${escapeHtml(clientName)}</p>
${error ? `<p class="alert" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<div class="field">
<label for="login">E-mail address</label>
<input id="login" name="login" type="text" inputmode="email" autocomplete="username" autocapitalize="none"
spellcheck="false" required${login ? '' : ' autofocus'} value="${escapeHtml(login)}">
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${login ? ' autofocus' : ''}>
</div>
<button id="sign-in" class="primary" type="submit">Sign in</button>
</form>
${sharing(clientName, scope)}
<p class="note"><a href="${escapeHtml(cancel)}">Cancel and go back to ${escapeHtml(clientName)}</a></p>
</div>
${hintList(hints)}`;
  return page(brand, 'Sign in', body, { script: hints?.length ? HINT_SCRIPT : '' });
}

// oidc-provider hands us a form carrying only the xsrf token; asking "log out of everything?" is
// pointless here, so the page adds logout=yes and submits itself (a browser runs the script, an HTTP
// client follows the form, a browser without scripts clicks the button).
export function logoutPage(brand, form) {
  const autoForm = form.replace('</form>',
    '<input type="hidden" name="logout" value="yes"/><button class="primary" type="submit">Sign out</button></form>');
  return page(brand, 'Signing out', `<div class="card"><h1>Signing out</h1>
<p class="lead">One moment…</p>${autoForm}</div>`, { script: 'document.forms[0].submit();' });
}

export function signedOutPage(brand) {
  return page(brand, 'Signed out', `<div class="card"><h1>Signed out</h1>
<p class="lead">You have been signed out. You can close this window.</p></div>`);
}

export function errorPage(brand, heading, rows) {
  const details = rows.map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`);
  return page(brand, 'Error', `<div class="card"><h1>${escapeHtml(heading)}</h1>${details.join('')}</div>`);
}
