// Network safety: the blackhole routes the agent installs, and the refusal of next hops that are not
// on a local link — as pure functions of `ip` output, and for real inside a network namespace this
// test creates (as root; never the machine's own routes).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { blackholeRouteCommands, installBlackholeRoutes, offLinkProblem, parseBlackholes, replaceRouteVia, type IpRunner } from './routes.ts';

describe('blackhole routes', () => {
  it('one idempotent `ip route replace blackhole` per CIDR, with the address family', () => {
    assert.deepEqual(blackholeRouteCommands(['10.42.0.0/16', '10.43.0.0/16', 'fd00:42::/56']), [
      ['-4', 'route', 'replace', 'blackhole', '10.42.0.0/16'],
      ['-4', 'route', 'replace', 'blackhole', '10.43.0.0/16'],
      ['-6', 'route', 'replace', 'blackhole', 'fd00:42::/56'],
    ]);
    assert.throws(() => blackholeRouteCommands(['not-a-cidr']), /invalid CIDR "not-a-cidr"/);
  });

  it('a refusal from ip is one line that says the agent needs root', async () => {
    const ip: IpRunner = async () => {
      throw Object.assign(new Error('Command failed'), { stderr: 'RTNETLINK answers: Operation not permitted\n' });
    };
    await assert.rejects(installBlackholeRoutes(['10.42.0.0/16'], ip), {
      message: 'cannot install the blackhole route 10.42.0.0/16: RTNETLINK answers: Operation not permitted (the agent needs root or CAP_NET_ADMIN; --simulated runs without)',
    });
  });

  it('reads the blackholes ip lists', () => {
    assert.deepEqual(parseBlackholes('blackhole 10.42.0.0/16 \nblackhole 10.43.0.0/16 \n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2\n'), ['10.42.0.0/16', '10.43.0.0/16']);
  });
});

describe('next hops', () => {
  it('only an address reached directly over a device is a next hop', () => {
    assert.equal(offLinkProblem('10.0.0.3', '10.0.0.3 dev eth0 src 10.0.0.2 uid 0 \n    cache \n'), undefined);
    assert.equal(offLinkProblem('8.8.8.8', '8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.2 uid 0'), '8.8.8.8 is not on a local link (the kernel reaches it through a gateway: 8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.2 uid 0)');
    assert.equal(offLinkProblem('10.42.9.9', 'blackhole 10.42.9.9 uid 0'), '10.42.9.9 is not reachable (blackhole)');
    assert.equal(offLinkProblem('10.0.0.2', 'local 10.0.0.2 dev lo table local src 10.0.0.2 uid 0'), '10.0.0.2 is an address of this node');
    assert.equal(offLinkProblem('192.0.2.1', ''), 'no route to 192.0.2.1');
    assert.equal(offLinkProblem('192.0.2.1', 'RTNETLINK answers: Network is unreachable\n'), '192.0.2.1 is not reachable (network is unreachable)');
  });
});

// Needs root, as the repository's other real-network tests.
describe('inside a network namespace', () => {
  it('installs the blackholes idempotently, and refuses a route via an address off the local link', async () => {
    const ns = `rudder-rt-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const sh = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
      sh('link', 'set', 'lo', 'up');
      // a link of its own: a veth pair with both ends inside the namespace
      sh('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
      sh('addr', 'add', '192.0.2.2/24', 'dev', 'd0');
      sh('link', 'set', 'd0', 'up');
      sh('link', 'set', 'd1', 'up');
      const ip: IpRunner = async (args) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      await installBlackholeRoutes(['10.42.0.0/16', '10.43.0.0/16'], ip);
      await installBlackholeRoutes(['10.42.0.0/16', '10.43.0.0/16'], ip);
      assert.deepEqual(parseBlackholes(sh('route', 'show', 'type', 'blackhole')), ['10.42.0.0/16', '10.43.0.0/16']);
      // a pod address of no node dies here: the kernel has no way out for it
      const unroutable = (a: string) => assert.throws(() => execFileSync('ip', ['-n', ns, 'route', 'get', a], { stdio: 'pipe' }), /Invalid argument/);
      unroutable('10.42.7.7');
      unroutable('10.43.0.10');
      // another node's pod CIDR via its address on the link: more specific, and allowed
      await replaceRouteVia('10.42.1.0/24', '192.0.2.3', ip);
      assert.match(sh('route', 'get', '10.42.1.5'), /via 192\.0\.2\.3 dev d0/);
      // via an address behind a gateway: refused, nothing installed
      sh('route', 'add', '198.51.100.0/24', 'via', '192.0.2.1');
      await assert.rejects(replaceRouteVia('10.42.2.0/24', '198.51.100.9', ip), /refusing the route 10\.42\.2\.0\/24 via 198\.51\.100\.9: 198\.51\.100\.9 is not on a local link/);
      unroutable('10.42.2.5');
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
