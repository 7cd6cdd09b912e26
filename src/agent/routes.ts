// Network safety (DESIGN.md §8): from its first start the agent puts blackhole routes on the whole
// cluster (pod) CIDR and the whole service CIDR in its network namespace. Real routes — the node's
// pod bridge, routes to other nodes' pod CIDRs over local links — are more specific and win, so a
// packet for a service VIP without a proxy rule, or for a pod CIDR no node serves, dies here instead
// of leaving by a default route. `ip route replace` makes installing idempotent.
//
// Routes via a next hop are only ever installed when that next hop is on a directly connected link
// (the kernel's own answer, `ip route get`, has no gateway): never through an address the machine
// reaches only by forwarding.
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `ip` with arguments; resolves stdout. Injected in tests. */
export type IpRunner = (args: string[]) => Promise<string>;

export const systemIp: IpRunner = async (args) => (await run('ip', args, { encoding: 'utf8' })).stdout;

function family(cidr: string): '-4' | '-6' {
  const addr = cidr.split('/')[0]!;
  const f = isIP(addr);
  if (f === 0) throw new Error(`invalid CIDR "${cidr}"`);
  return f === 6 ? '-6' : '-4';
}

/** The `ip` arguments that blackhole each CIDR (pure). */
export function blackholeRouteCommands(cidrs: string[]): string[][] {
  return cidrs.filter(Boolean).map((c) => [family(c), 'route', 'replace', 'blackhole', c]);
}

/** Installs the blackhole routes (idempotent). Throws one line naming the route and the fix. */
export async function installBlackholeRoutes(cidrs: string[], ip: IpRunner = systemIp): Promise<void> {
  for (const args of blackholeRouteCommands(cidrs)) {
    try {
      await ip(args);
    } catch (e) {
      const msg = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n')[0];
      const hint = /not permitted|permission/i.test(msg) ? ' (the agent needs root or CAP_NET_ADMIN; --simulated runs without)' : '';
      throw new Error(`cannot install the blackhole route ${args.at(-1)}: ${msg}${hint}`);
    }
  }
}

/** The blackhole routes present, from `ip route show type blackhole` output (pure). */
export function parseBlackholes(out: string): string[] {
  return out
    .split('\n')
    .map((l) => /^blackhole\s+(\S+)/.exec(l.trim())?.[1])
    .filter((x): x is string => !!x);
}

/**
 * Why `via` is not a next hop on a local link, from the kernel's `ip route get <via>` answer
 * (pure), or undefined when it is one: the answer must go out of a device directly, with no
 * gateway of its own, and not be a blackhole, unreachable or local address.
 */
export function offLinkProblem(via: string, routeGet: string): string | undefined {
  const line = routeGet.split('\n')[0]?.trim() ?? '';
  if (!line) return `no route to ${via}`;
  const refused = /^RTNETLINK answers: (.*)$/.exec(line);
  if (refused) return `${via} is not reachable (${refused[1]!.toLowerCase()})`;
  if (/^(blackhole|unreachable|prohibit|throw)\b/.test(line)) return `${via} is not reachable (${line.split(/\s+/)[0]})`;
  if (/^local\b/.test(line)) return `${via} is an address of this node`;
  if (/\svia\s/.test(` ${line} `)) return `${via} is not on a local link (the kernel reaches it through a gateway: ${line})`;
  if (!/\sdev\s/.test(` ${line} `)) return `no device reaches ${via}`;
  return undefined;
}

/** Installs `cidr via nextHop` only when nextHop is on a local link; throws the reason otherwise. */
export async function replaceRouteVia(cidr: string, nextHop: string, ip: IpRunner = systemIp): Promise<void> {
  const f = family(cidr);
  const answer = await ip([f, 'route', 'get', nextHop]).catch((e) => String((e as { stderr?: string }).stderr ?? ''));
  const problem = offLinkProblem(nextHop, answer);
  if (problem) throw new Error(`refusing the route ${cidr} via ${nextHop}: ${problem}`);
  await ip([f, 'route', 'replace', cidr, 'via', nextHop]);
}
