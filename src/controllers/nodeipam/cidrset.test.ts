import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, ERR_NO_CIDRS_REMAINING, formatIP } from './cidrset.ts';
import { parseIPv6 } from '../../api/validation/ipnet.ts';

test('allocation is round-robin and never hands out a taken subnet', () => {
  const s = new CidrSet('10.42.0.0/16', 24);
  assert.equal(s.maxCIDRs, 256);
  assert.equal(s.allocateNext(), '10.42.0.0/24');
  s.occupy('10.42.1.0/24');
  assert.equal(s.allocateNext(), '10.42.2.0/24');
  s.release('10.42.0.0/24');
  // the freed subnet is not reused before the others have been handed out
  assert.equal(s.allocateNext(), '10.42.3.0/24');
  assert.equal(s.allocatedCount, 3);
});

test('a full set refuses with upstream message, and a release makes room', () => {
  const s = new CidrSet('10.0.0.0/30', 31);
  assert.equal(s.allocateNext(), '10.0.0.0/31');
  assert.equal(s.allocateNext(), '10.0.0.2/31');
  assert.throws(() => s.allocateNext(), { message: ERR_NO_CIDRS_REMAINING });
  s.release('10.0.0.2/31');
  assert.equal(s.allocateNext(), '10.0.0.2/31');
});

test('occupy covers every subnet of a larger CIDR, and CIDRs outside the cluster are refused', () => {
  const s = new CidrSet('10.42.0.0/16', 24);
  s.occupy('10.42.0.0/23');
  assert.equal(s.allocatedCount, 2);
  s.occupy('10.42.0.0/24');
  assert.equal(s.allocatedCount, 2);
  assert.throws(() => s.occupy('10.43.0.0/24'), /out the range of cluster cidr 10.42.0.0\/16/);
  assert.equal(s.contains('10.43.0.0/24'), false);
  assert.equal(s.contains('10.42.9.0/24'), true);
});

test('IPv6 subnets are formatted as Go prints them', () => {
  const s = new CidrSet('fd00:10:42::/56', 64);
  assert.equal(s.allocateNext(), 'fd00:10:42::/64');
  assert.equal(s.allocateNext(), 'fd00:10:42:1::/64');
  assert.equal(formatIP(parseIPv6('2001:db8:0:0:1:0:0:1')!, 128), '2001:db8::1:0:0:1');
  assert.equal(formatIP(parseIPv6('1:0:2:3:4:5:6:7')!, 128), '1:0:2:3:4:5:6:7');
  assert.throws(() => new CidrSet('fd00::/32', 64), /too big/);
});
