// `rudder server` flags that are parsed without starting anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './flags.ts';
import { serverConfig } from './server.ts';

const base = ['--data-dir', '/tmp/rudder-flags-test', '--disable-agent', '--advertise-address', '127.0.0.1'];

describe('--authorization-mode', () => {
  it('defaults to Node,RBAC, as upstream orders the modes', () => {
    assert.equal(serverConfig(base).authorizationMode, 'Node,RBAC');
  });

  it('accepts AlwaysAllow, for measuring what authorization costs', () => {
    assert.equal(serverConfig([...base, '--authorization-mode', 'AlwaysAllow']).authorizationMode, 'AlwaysAllow');
  });

  it('refuses modes rudder does not implement, naming the ones it does', () => {
    assert.throws(() => serverConfig([...base, '--authorization-mode', 'ABAC']), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.message, 'invalid value "ABAC" for flag --authorization-mode: rudder supports Node,RBAC and AlwaysAllow');
      return true;
    });
  });
});
