import { mayView, missingScopes, principalOf, scopesOf, viewerOf } from '../../../src/platform/auth/access-token.js';
import { bearerChallenge } from '../../../src/platform/auth/bearer-challenge.js';

describe('scopesOf', () => {
  it("reads Okta's scp array", () => {
    expect([...scopesOf({ scp: ['orders.read', 'orders.write'] })]).toEqual(['orders.read', 'orders.write']);
  });

  it('reads the standard space-separated scope string', () => {
    expect([...scopesOf({ scope: 'openid  orders.read orders.write' })]).toEqual(['openid', 'orders.read', 'orders.write']);
  });

  it('unites scp and scope, and takes an scp string too', () => {
    expect([...scopesOf({ scp: 'orders.admin', scope: 'orders.read' })].sort()).toEqual(['orders.admin', 'orders.read']);
  });

  it('ignores what is not a scope token', () => {
    expect([...scopesOf({ scp: ['orders.read', 42, null, { x: 1 }, 'bad"quote'], scope: 7 })]).toEqual(['orders.read']);
    expect(scopesOf({}).size).toBe(0);
  });
});

describe('missingScopes', () => {
  it('matches whole scopes exactly, never by substring, prefix or case', () => {
    for (const granted of ['orders.writer', 'xorders.write', 'orders.write.all', 'orders.read,orders.write', 'ORDERS.WRITE', 'orders', 'orders.wri']) {
      expect(missingScopes(scopesOf({ scope: granted }), ['orders.write'])).toEqual(['orders.write']);
    }
    expect(missingScopes(scopesOf({ scp: ['orders.writer'] }), ['orders.write'])).toEqual(['orders.write']);
  });

  it('needs every required scope', () => {
    expect(missingScopes(['orders.read'], ['orders.read', 'orders.admin'])).toEqual(['orders.admin']);
    expect(missingScopes(['orders.admin', 'orders.read'], ['orders.read', 'orders.admin'])).toEqual([]);
    expect(missingScopes([], [])).toEqual([]);
  });
});

describe('principalOf', () => {
  it('takes client_id (RFC 9068), then cid (Okta), then azp; sub falls back to the client', () => {
    expect(principalOf({ sub: 's', client_id: 'c', scope: 'orders.read' })).toEqual({ sub: 's', clientId: 'c', owner: 'c', scopes: ['orders.read'] });
    expect(principalOf({ sub: 'ada@example.com', cid: '0oa1' })?.clientId).toBe('0oa1');
    expect(principalOf({ azp: 'spa' })).toEqual({ sub: 'spa', clientId: 'spa', owner: 'spa', scopes: [] });
    expect(principalOf({ sub: 'only-sub' })?.clientId).toBe('only-sub');
  });

  it("the owner of the caller's orders is Okta's cid, else client_id, else sub (never azp)", () => {
    expect(principalOf({ sub: 'ada@example.com', cid: '0oa1', client_id: 'other' })?.owner).toBe('0oa1');
    expect(principalOf({ sub: 'ada@example.com', client_id: 'c' })?.owner).toBe('c');
    expect(principalOf({ sub: 'ada@example.com', azp: 'spa' })?.owner).toBe('ada@example.com');
    expect(principalOf({ sub: 's', cid: '' , client_id: 'c' })?.owner).toBe('c');
  });

  it('a viewer sees its own orders, an admin every order, nobody but admins an order without owner', () => {
    const req = (scopes: string[]) => ({ user: principalOf({ sub: 's', cid: 'a', scope: scopes.join(' ') }) });
    expect(viewerOf(req(['orders.read']))).toEqual({ owner: 'a', admin: false });
    expect(viewerOf(req(['orders.read', 'orders.admin']))).toEqual({ owner: 'a', admin: true });
    expect(mayView({ owner: 'a', admin: false }, 'a')).toBe(true);
    expect(mayView({ owner: 'a', admin: false }, 'b')).toBe(false);
    expect(mayView({ owner: 'a', admin: false }, null)).toBe(false);
    expect(mayView({ owner: 'a', admin: true }, 'b')).toBe(true);
    expect(mayView({ owner: 'a', admin: true }, null)).toBe(true);
  });

  it('refuses a token naming nobody', () => {
    expect(principalOf({ sub: '', client_id: 5 })).toBeNull();
  });
});

describe('bearerChallenge', () => {
  it('sends no error code when no credentials came (RFC 6750 §3.1)', () => {
    expect(bearerChallenge()).toBe('Bearer realm="order-flow"');
  });

  it('carries error, description and scope, stripping characters a quoted value may not hold', () => {
    expect(bearerChallenge({ error: 'insufficient_scope', description: 'needs "orders.write"\\\n', scope: 'orders.write' })).toBe(
      'Bearer realm="order-flow", error="insufficient_scope", error_description="needs orders.write", scope="orders.write"',
    );
  });
});
