// A real OpenID Provider (panva/oidc-provider, OpenID-certified) for Deskgate's tests and demo.
//
// Usage: node server.mjs CONFIG.json
//
// It listens on loopback only, shapes its endpoints like Gluu Server 4 when asked to
// (`/oxauth/restv1/authorize`, `/oxauth/restv1/token`, ... with the issuer at the origin),
// checks real passwords on its sign-in page (account id or e-mail address) and grants consent
// automatically (the sign-in page says what the client will receive).
// Config keys (all optional but `clients`, `accounts` and `signing_keys`):
//   port (0 = pick a free one), host ("127.0.0.1"), issuer_path ("" or e.g. "/oxauth": the
//   issuer's own path, under which everything is mounted), gluu_paths (endpoints under
//   `/oxauth/restv1/`), clients (oidc-provider client metadata), accounts ({id: {password,
//   claims}}), claims_in_id_token (scope claims in the ID token too), pairwise (opaque
//   per-client subs, Gluu-like), scope_claims ({scope: [claim, ...]}), ttl ({AccessToken: s, ...}),
//   signing_keys (required: private JWKs with kid, alg and use; the first RS256 one signs),
//   brand ({name, tagline}: the name the pages show), account_hints (list the accounts, with their
//   passwords, on the sign-in page: for the demo), test_admin (enables /__test__/health and POST /__test__/rotate-keys {"key": a new RS256 private
//   JWK, which signs from then on}), exit_with_stdin (exit when
//   stdin closes, so a launcher that dies cannot leave the provider running), tls ({cert, key}: PEM
//   file paths; the provider then speaks https, as a production IdP does).
// Once listening it prints one line `deskgate-oidc-peer ready issuer=<issuer>`, then one line
// per request (method, path, status): never a query string, a body or a token.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import Provider from 'oidc-provider';

import {
  errorPage, loginPage, logoutPage, signedOutPage,
} from './views.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const host = cfg.host ?? '127.0.0.1';
const issuerPath = (cfg.issuer_path ?? '').replace(/\/+$/, '');
const accounts = cfg.accounts ?? {};
const clients = cfg.clients ?? [];
const interactionPrefix = `${issuerPath}/interaction/`;

const DEFAULT_SCOPE_CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username',
    'picture', 'locale', 'zoneinfo', 'updated_at'],
  groups: ['groups'],
  organization: ['organization'],
};
const scopeClaims = cfg.scope_claims ?? DEFAULT_SCOPE_CLAIMS;

// Gluu 4 serves its endpoints under /oxauth/restv1 while its issuer is the bare origin.
const GLUU_ROUTES = {
  authorization: '/oxauth/restv1/authorize',
  token: '/oxauth/restv1/token',
  userinfo: '/oxauth/restv1/userinfo',
  jwks: '/oxauth/restv1/jwks',
  end_session: '/oxauth/restv1/end_session',
  revocation: '/oxauth/restv1/revoke',
  introspection: '/oxauth/restv1/introspection',
  registration: '/oxauth/restv1/register',
  pushed_authorization_request: '/oxauth/restv1/par',
  device_authorization: '/oxauth/restv1/device_authorization',
  code_verification: '/oxauth/restv1/device-code',
  backchannel_authentication: '/oxauth/restv1/bc-authorize',
  challenge: '/oxauth/restv1/challenge',
  credential: '/oxauth/restv1/credential',
};

const TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  ClientCredentials: 600,
  IdToken: 3600,
  Interaction: 3600,
  RefreshToken: 14 * 24 * 3600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  ...cfg.ttl,
};

// ---------------------------------------------------------------------------------------------
// State that outlives a Provider instance. oidc-provider fixes its keystore at construction, so
// rotating keys means building a new Provider behind the same HTTP server; sessions, grants and
// interactions live here so that a rotation logs nobody out.

const store = new Map();
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

function live(key) {
  const entry = store.get(key);
  if (entry && entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry;
}

class SharedMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
    store.set(this.key(id), { payload: structuredClone(payload), expiresAt });
    if (GRANTABLE.has(this.model) && payload.grantId) {
      const index = live(`grant:${payload.grantId}`)?.payload ?? [];
      index.push(this.key(id));
      store.set(`grant:${payload.grantId}`, { payload: index, expiresAt });
    }
    if (this.model === 'Session' && payload.uid) {
      store.set(`sessionUid:${payload.uid}`, { payload: id, expiresAt });
    }
    if (payload.userCode) {
      store.set(`userCode:${payload.userCode}`, { payload: id, expiresAt });
    }
  }

  async find(id) {
    const entry = live(this.key(id));
    return entry ? structuredClone(entry.payload) : undefined;
  }

  async findByUid(uid) {
    const id = live(`sessionUid:${uid}`)?.payload;
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = live(`userCode:${userCode}`)?.payload;
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = live(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of live(`grant:${grantId}`)?.payload ?? []) store.delete(key);
    store.delete(`grant:${grantId}`);
  }
}

// The first RS256 key signs; older ones stay published so tokens they signed still verify. The launcher
// generates them (and the key of each rotation): no key generation happens in this process.
const signingKeys = [...(cfg.signing_keys ?? [])];
if (!signingKeys.some((key) => key.alg === 'RS256')) {
  console.log('invalid configuration: signing_keys needs an RS256 private JWK');
  process.exit(1);
}
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];
const pairwiseSalt = crypto.randomBytes(32);

// ---------------------------------------------------------------------------------------------
// Pages (views.mjs draws them).

const brand = { name: cfg.brand?.name || 'Test identity provider', tagline: cfg.brand?.tagline ?? '' };

// The demo shows its accounts on the sign-in page (name, organization, e-mail, password).
const hints = cfg.account_hints
  ? Object.values(accounts).map(({ password, claims }) => ({
    name: claims?.name, organization: claims?.organization, email: claims?.email, password,
  })).filter((h) => h.email)
  : [];

async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = logoutPage(brand, form);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = signedOutPage(brand);
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = errorPage(brand, 'Something went wrong', Object.entries(out));
}

// ---------------------------------------------------------------------------------------------
// The Provider.

async function findAccount(_ctx, sub) {
  const account = accounts[sub];
  if (!account) return undefined;
  return { accountId: sub, claims: async () => ({ ...account.claims, sub }) };
}

function providerConfiguration() {
  return {
    adapter: SharedMemoryAdapter,
    clients,
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    findAccount,
    claims: scopeClaims,
    scopes: ['openid', 'offline_access', ...Object.keys(scopeClaims)],
    conformIdTokenClaims: !(cfg.claims_in_id_token ?? true),
    subjectTypes: cfg.pairwise ? ['public', 'pairwise'] : ['public'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_post',
      ...(cfg.pairwise ? { subject_type: 'pairwise' } : {}),
    },
    // Opaque, stable per (sector, account) like Gluu's subject identifiers.
    pairwiseIdentifier: async (_ctx, accountId, client) => crypto
      .createHmac('sha256', pairwiseSalt)
      .update(`${client.sectorIdentifier}\0${accountId}`)
      .digest('base64url'),
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
    },
    interactions: { url: async (_ctx, interaction) => `${interactionPrefix}${interaction.uid}` },
    ...(cfg.gluu_paths ? { routes: GLUU_ROUTES } : {}),
    ttl: TTL,
    renderError,
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris
      .some((uri) => new URL(uri).origin === origin),
    // oidc-provider's SSRF guard refuses loopback addresses, where every RP of this peer lives.
    fetch: (url, options) => {
      delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
  };
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, providerConfiguration());
  provider.on('backchannel.error', (_ctx, err, client) => {
    console.log(`backchannel logout to ${client.clientId} failed: ${err.message}`);
  });
  provider.on('backchannel.success', (_ctx, client) => {
    console.log(`backchannel logout to ${client.clientId} sent`);
  });
  provider.on('server_error', (_ctx, err) => console.log(`server_error: ${err.stack}`));
  return { provider, callback: provider.callback() };
}

// ---------------------------------------------------------------------------------------------
// Interactions: a real password check, then consent granted for whatever was asked.

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function readForm(req) {
  return new URLSearchParams(await readBody(req));
}

// The login field takes the account id or, as people type it, the account's e-mail address (any case).
function accountIdFor(login) {
  const given = String(login ?? '').trim();
  if (Object.hasOwn(accounts, given)) return given;
  const email = given.toLowerCase();
  return Object.keys(accounts).find((id) => String(accounts[id].claims?.email ?? '').toLowerCase() === email);
}

function passwordMatches(account, password) {
  const expected = crypto.createHash('sha256').update(account?.password ?? '').digest();
  const given = crypto.createHash('sha256').update(password ?? '').digest();
  return account !== undefined && crypto.timingSafeEqual(expected, given);
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

async function handleInteraction(provider, req, res, rest) {
  const [uid, action] = rest.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw Object.assign(new Error('interaction does not match its cookie'), { statusCode: 400 });
  const { prompt, params } = details;

  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'login') {
    const client = await provider.Client.find(params.client_id);
    const clientName = client?.clientName ?? params.client_id;
    const view = {
      action: `${interactionPrefix}${uid}`, cancel: `${interactionPrefix}${uid}/abort`,
      clientName, scope: params.scope, hints,
    };
    if (req.method !== 'POST') {
      sendHtml(res, 200, loginPage(brand, { ...view, login: params.login_hint }));
      return;
    }
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    const accountId = accountIdFor(login);
    if (!passwordMatches(accountId && accounts[accountId], form.get('password'))) {
      const error = 'Invalid e-mail address or password.';
      sendHtml(res, 200, loginPage(brand, { ...view, login, error }));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId, amr: ['pwd'] },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'consent') {
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, {
      consent: details.grantId ? {} : { grantId },
    }, { mergeWithLastSubmission: true });
    return;
  }

  throw new Error(`unsupported prompt ${prompt.name}`);
}

// ---------------------------------------------------------------------------------------------
// The HTTP server: interactions and test endpoints first, everything else to the Provider.

let current;

function sendJson(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

async function handleAdmin(req, res, path) {
  if (path === '/__test__/health' && req.method === 'GET') {
    sendJson(res, 200, { status: 'ok' });
  } else if (path === '/__test__/rotate-keys' && req.method === 'POST') {
    const { key } = JSON.parse((await readBody(req)) || '{}');
    if (key?.alg !== 'RS256' || !key.d || !key.kid) {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'body: {"key": RS256 private JWK}' });
      return;
    }
    signingKeys.unshift(key);
    current = buildProvider(current.provider.issuer);
    sendJson(res, 200, { kid: key.kid });
  } else {
    sendJson(res, 404, { error: 'not_found' });
  }
}

async function handle(req, res) {
  const path = new URL(req.url, 'http://peer').pathname;
  if (cfg.test_admin && path.startsWith('/__test__/')) {
    await handleAdmin(req, res, path);
    return;
  }
  if (!current) {
    sendJson(res, 503, { error: 'starting' });
    return;
  }
  if (path.startsWith(interactionPrefix)) {
    await handleInteraction(current.provider, req, res, path.slice(interactionPrefix.length));
    return;
  }
  if (cfg.gluu_paths && path === `${issuerPath}/oxauth/.well-known/openid-configuration`) {
    // Gluu also answers discovery under /oxauth.
    req.url = `${issuerPath}/.well-known/openid-configuration`;
  }
  if (issuerPath) {
    if (path !== issuerPath && !path.startsWith(`${issuerPath}/`)) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    // Mounted like Express does it: oidc-provider reads the mount path from originalUrl.
    req.originalUrl = req.url;
    req.url = req.url.slice(issuerPath.length) || '/';
  }
  await current.callback(req, res);
}

function serve(listener) {
  if (!cfg.tls) return http.createServer(listener);
  const options = { cert: fs.readFileSync(cfg.tls.cert), key: fs.readFileSync(cfg.tls.key) };
  return https.createServer(options, listener);
}

const server = serve((req, res) => {
  const { method } = req;
  const path = new URL(req.url, 'http://peer').pathname;
  res.on('finish', () => console.log(`${method} ${path} ${res.statusCode}`));
  handle(req, res).catch((err) => {
    console.log(`error on ${method} ${path}: ${err.stack}`);
    if (!res.headersSent) {
      sendHtml(res, err.statusCode ?? 500, errorPage(brand, 'Error', [['error', err.message]]));
    } else {
      res.end();
    }
  });
});

function shutDown(code) {
  server.close();
  server.closeAllConnections();
  process.exit(code);
}

server.listen(cfg.port ?? 0, host, async () => {
  const { port } = server.address();
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const issuer = `${cfg.tls ? 'https' : 'http'}://${hostPart}:${port}${issuerPath}`;
  const built = buildProvider(issuer);
  try {
    // oidc-provider validates static clients lazily, on first use; fail at start instead.
    for (const client of clients) await built.provider.Client.find(client.client_id);
  } catch (err) {
    console.log(`invalid client configuration: ${err.message}${err.error_description ? `: ${err.error_description}` : ''}`);
    shutDown(1);
    return;
  }
  current = built;
  console.log(`deskgate-oidc-peer ready issuer=${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => shutDown(0));

// A launcher that holds our stdin open can die without stopping us; its pipe closing says so.
if (cfg.exit_with_stdin) {
  process.stdin.on('end', () => shutDown(0));
  process.stdin.resume();
}
