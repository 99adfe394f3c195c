// A real OpenID Connect provider (panva's certified oidc-provider) for the
// dashboard's single sign-on tests. Nothing here is mocked: codes, tokens and
// signed ID tokens are the library's own, so the Authlib client is tested
// against the same protocol it will meet in Entra ID or any other OP.
//
//   node tests/oidc/provider.mjs --config clients.json [--port 0] [--watch-stdin]
//
// Options may also come from the environment: OIDC_CONFIG, OIDC_PORT.
// Port 0 (the default) lets the OS choose a free port; the one actually used
// is printed as `READY http://127.0.0.1:PORT`, which is also the issuer.
//
// The config JSON:
//   {
//     "clients":  [{ "client_id", "client_secret", "redirect_uris": [...], ... }],
//     "accounts": [{ "sub", "username", "password", "name", "email",
//                    "roles": ["CPD.Analyst"], "force": "Dorset", ... }],
//     "claims":   { "<scope>": ["<claim>", ...] }   // optional, see CLAIMS
//   }
// Client entries are oidc-provider client metadata, passed through as is.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: process.env.OIDC_CONFIG },
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    // The Python helper keeps our stdin open; when the test process dies
    // without stopping us (crash, kill -9), stdin closes and we go too, so no
    // provider is left holding a port.
    'watch-stdin': { type: 'boolean', default: false },
  },
});
if (!args.config) {
  console.error('provider.mjs: --config FILE (or OIDC_CONFIG) is required');
  process.exit(2);
}
const config = JSON.parse(readFileSync(args.config, 'utf8'));

// Which claims each scope releases. Entra ID puts app roles in `roles`; the
// dashboard's own police-force claim is `force`. Entra releases roles without
// any scope being asked for (and refuses unknown scopes), so `profile` carries
// them and an app configured with plain "openid profile email" works against
// both; the `roles` and `force` scopes are there for an app that names them.
// An account without roles or force is how a test leaves them out.
const CLAIMS = config.claims ?? {
  openid: ['sub'],
  profile: ['name', 'preferred_username', 'roles', 'force'],
  email: ['email', 'email_verified'],
  roles: ['roles'],
  force: ['force'],
};

// Accounts are looked up by username at login and by sub (the accountId)
// when the provider builds tokens.
const accounts = new Map(config.accounts.map((a) => [a.sub, a]));
const byUsername = new Map(config.accounts.map((a) => [a.username, a]));

function accountClaims(account) {
  const { password, username, ...claims } = account;
  return { preferred_username: username, ...claims };
}

// A fresh signing key per run: the client must fetch the JWKS to validate the
// ID token, as it would in production (and the library's built-in dev key
// comes with a warning that it is public).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', kid: 'test-rs256' };

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body, status = 200) {
  return {
    status,
    body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>${html(title)}</title></head><body><main><h1>${html(title)}</h1>${body}</main></body></html>`,
  };
}

// Field names and the submit button's id are a contract with the tests
// (tests/oidc_provider.py and any selenium test): keep them.
function loginPage(uid, clientId, { error = '', username = '' } = {}) {
  return page('Sign in', `
<p>Signing in to <code>${html(clientId)}</code>.</p>
${error ? `<p id="oidc-error" role="alert">${html(error)}</p>` : ''}
<form method="post" action="/interaction/${html(uid)}/login" autocomplete="off">
  <label>Username <input name="username" value="${html(username)}" autofocus required></label>
  <label>Password <input name="password" type="password" required></label>
  <button type="submit" id="oidc-submit">Sign in</button>
</form>
<p><a id="oidc-cancel" href="/interaction/${html(uid)}/abort">Cancel</a></p>`, error ? 401 : 200);
}

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return new URLSearchParams(raw);
}

function send(res, { status, body }) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

// Our own interaction routes, because the library's devInteractions accept
// any username with no password: the tests need a wrong password refused.
async function interaction(provider, req, res) {
  const [, , uid, action] = new URL(req.url, 'http://x').pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction uid mismatch');
  const { prompt, params, session } = details;

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (prompt.name === 'login') {
    if (req.method !== 'POST' || action !== 'login') {
      return send(res, loginPage(uid, params.client_id));
    }
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const account = byUsername.get(username);
    if (!account || account.password !== form.get('password')) {
      return send(res, loginPage(uid, params.client_id, {
        username, error: 'Invalid username or password.',
      }));
    }
    return provider.interactionFinished(req, res, {
      login: { accountId: account.sub },
    }, { mergeWithLastSubmission: false });
  }

  if (prompt.name === 'consent') {
    // First-party app: consent is granted without asking, for exactly what
    // the provider says is missing (as the library's dev interactions do).
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    return provider.interactionFinished(req, res, {
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: true });
  }

  return send(res, page('Not implemented', `<p>prompt ${html(prompt.name)}</p>`, 501));
}

// Listen first, so that port 0 resolves to a real port before the issuer
// (which must carry it) is fixed; requests are only accepted after READY.
let provider;
let callback;
const server = createServer(async (req, res) => {
  try {
    if (req.url.startsWith('/interaction/')) await interaction(provider, req, res);
    else callback(req, res);
  } catch (err) {
    // Typically an expired or missing interaction cookie: show it, don't die.
    console.error('interaction error:', err);
    const why = err.error_description ?? err.message;
    if (!res.headersSent) send(res, page('Error', `<p id="oidc-error">${html(why)}</p>`, 400));
  }
});

server.listen(Number(args.port), '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: config.clients,
    findAccount: (ctx, sub) => {
      const account = accounts.get(sub);
      return account && { accountId: sub, claims: () => accountClaims(account) };
    },
    claims: CLAIMS,
    scopes: [...Object.keys(CLAIMS), 'offline_access'],
    // Put the scope-released claims (roles, force, ...) in the ID token
    // itself, as Entra ID does, not only at the userinfo endpoint.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
    },
    interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
    // PKCE (S256 only) is checked whenever the client sends code_challenge;
    // required only for public clients, so confidential ones work either way.
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // The dashboard talks to us server-side only; no browser CORS calls.
    clientBasedCORS: () => false,
  });
  callback = provider.callback();
  // Client metadata is only checked when a client is first used: check it
  // now, so a bad test set-up fails at start with the reason, not mid-flow.
  try {
    for (const { client_id: id } of config.clients) await provider.Client.find(id);
  } catch (err) {
    console.error(`invalid client configuration: ${err.message} ${err.error_description ?? ''}`);
    process.exit(1);
  }
  console.log(`READY ${issuer}`);
});

if (args['watch-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
// Stop promptly on the helper's SIGTERM (and ^C when run by hand).
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
