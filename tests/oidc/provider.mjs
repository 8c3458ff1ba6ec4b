// A real OpenID provider for the dashboard's sign-in tests: `oidc-provider`
// (OpenID Certified), installed by scripts/setup.sh into the cache, run
// with Node.js on a loopback port the test chooses. Development
// interactions are on: its login page accepts any user name (and any
// password); the user's `pmoc_role` claim comes from PMOC_OIDC_ROLES.
//
// Environment: PMOC_OIDC_MODULES (node_modules holding oidc-provider),
// PMOC_OIDC_PORT, PMOC_OIDC_CLIENT_ID, PMOC_OIDC_CLIENT_SECRET,
// PMOC_OIDC_REDIRECT_URI, PMOC_OIDC_ROLES ({"user": "claim value"}).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const modules = env('PMOC_OIDC_MODULES');
const { default: Provider } = await import(
  pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href
);
const port = Number(env('PMOC_OIDC_PORT'));
const roles = JSON.parse(env('PMOC_OIDC_ROLES'));

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: env('PMOC_OIDC_CLIENT_ID'),
    client_secret: env('PMOC_OIDC_CLIENT_SECRET'),
    redirect_uris: [env('PMOC_OIDC_REDIRECT_URI')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  // The dashboard always sends a PKCE challenge; make it mandatory here.
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['preferred_username', 'pmoc_role'] },
  // Put the profile claims in the ID token (the dashboard reads the role there).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['pmoc-test-only-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, pmoc_role: roles[id] ?? 'none' };
      },
    };
  },
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
