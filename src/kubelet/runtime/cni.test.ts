import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CNI_CONF_FILE, cniConfList, writeCniConfig } from './cni.ts';

describe('CNI configuration', () => {
  it('makes a bridge whose gateway is the first address of the pod CIDR, with host-local and portmap', () => {
    const c = cniConfList({ podCidr: '10.42.3.0/24', ipamDataDir: '/d/ipam' }) as {
      cniVersion: string; name: string; plugins: { type: string; isGateway?: boolean; ipam?: { ranges: { subnet: string; gateway: string }[][]; dataDir: string }; capabilities?: object }[];
    };
    assert.equal(c.cniVersion, '1.0.0');
    assert.deepEqual(c.plugins.map((p) => p.type), ['bridge', 'portmap']);
    assert.equal(c.plugins[0].isGateway, true);
    assert.deepEqual(c.plugins[0].ipam?.ranges, [[{ subnet: '10.42.3.0/24', gateway: '10.42.3.1' }]]);
    assert.equal(c.plugins[0].ipam?.dataDir, '/d/ipam');
    assert.deepEqual(c.plugins[1].capabilities, { portMappings: true });
  });

  it('rejects what is not an IPv4 network, naming it', () => {
    assert.throws(() => cniConfList({ podCidr: '10.42.3.1/24', ipamDataDir: '/d' }), /^Error: invalid pod CIDR "10\.42\.3\.1\/24": host bits are set$/);
    assert.throws(() => cniConfList({ podCidr: '10.42.300.0/24', ipamDataDir: '/d' }), /invalid pod CIDR "10\.42\.300\.0\/24": expected an IPv4 network/);
    assert.throws(() => cniConfList({ podCidr: 'fd00::/64', ipamDataDir: '/d' }), /invalid pod CIDR "fd00::\/64"/);
  });

  it('is the only configuration in its directory and is rewritten only when it changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rudder-cni-'));
    try {
      writeFileSync(join(dir, '05-stale.conf'), '{}');
      const o = { podCidr: '10.42.0.0/24', ipamDataDir: join(dir, 'ipam') };
      assert.equal(writeCniConfig(join(dir), o), true);
      assert.deepEqual(readdirSync(dir).sort(), [CNI_CONF_FILE, 'ipam']);
      assert.equal(writeCniConfig(join(dir), o), false);
      assert.equal(writeCniConfig(join(dir), { ...o, podCidr: '10.42.1.0/24' }), true);
      assert.match(readFileSync(join(dir, CNI_CONF_FILE), 'utf8'), /"10\.42\.1\.0\/24"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
