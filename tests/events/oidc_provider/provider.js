// A real OpenID Connect provider for the events tests (npm oidc-provider, its development
// sign-in and consent pages): `node provider.js PORT REDIRECT_URI`. Any login name signs in as
// the account of that name; the ID token carries its nickname. Prints "ready" once listening.
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'innotv',
    client_secret: 'innotv-test-client-secret-0123456789',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['nickname', 'name'] },
  conformIdTokenClaims: false,
  cookies: { keys: ['innotv-test-cookie-key'] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, nickname: `연동 ${id}`.slice(0, 24), name: id };
      },
    };
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
