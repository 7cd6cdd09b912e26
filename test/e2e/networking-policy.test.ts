// NetworkPolicy end to end (issue 6, acceptance), for real and as root: a server and two agent
// nodes in network namespaces with no route out (cluster.ts), each agent enforcing
// networking.k8s.io/v1 NetworkPolicies in its own nftables, driven by the real kubectl.
//
// The web pod runs on n2 and the clients on n1, so every connection crosses from one node to the
// other: the policy of the receiving pod is enforced on n2, the sender's on n1. The clients live in
// the same namespace as the web pod, under the same default-deny ingress policy: an HTTP answer
// reaching a client is a reply admitted into a pod whose ingress is denied.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type E2ECluster } from './cluster.ts';
import { getJson, isReady, until, waitPod, waitPods, type PodJson } from './kube.ts';

const BUSYBOX = 'docker.io/library/busybox:1.36';
const TESTSERVER = 'registry.rudder.test/testserver:1';
const NS = 'np';

function clientPod(name: string, role: string, node: string, namespace = NS): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { role } },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: BUSYBOX, command: ['sleep', '3600'] }] },
  });
}

function policy(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: NS }, spec });
}

describe('NetworkPolicy across two nodes: default deny, a later allow rule by pod and port, replies, namespaceSelector, ipBlock, egress deny', () => {
  let c: E2ECluster;
  let web: PodJson;
  let webVip: string;

  /** GET http://host:port/hostname from a client pod (busybox wget, one connection, 3 s at most): the body, or undefined. */
  const get = async (pod: string, host: string, port: number): Promise<string | undefined> => {
    const r = await c.kubectl(['exec', '-n', NS, pod, '--', 'timeout', '3', 'wget', '-q', '-O-', `http://${host}:${port}/hostname`]);
    return r.code === 0 ? r.stdout : undefined;
  };
  /** Waits until host:port answers (or, with want=false, stops answering) from a client pod: the proxies and enforcers apply changes within their sync period. */
  const waitReach = (pod: string, host: string, port: number, want: boolean) =>
    until(`${pod} → ${host}:${port} ${want ? 'answers' : 'is blocked'}`, 30_000, async () => ((await get(pod, host, port)) !== undefined) === want ? true : undefined);

  before(async () => {
    c = await startCluster();
    await c.addNode('n1');
    await c.addNode('n2');
    await Promise.all([c.waitReady('n1'), c.waitReady('n2')]);
    await c.k(['create', 'namespace', NS]);
    await until('the default ServiceAccount', 30_000, async () => ((await c.kubectl(['get', 'serviceaccount', 'default', '-n', NS])).code === 0 ? true : undefined));
    // The web pod serves HTTP on two ports: 8080 (named http) and 8081 (named alt).
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: NS },
            spec: {
              replicas: 1,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: {
                  nodeSelector: { 'kubernetes.io/hostname': 'n2' },
                  terminationGracePeriodSeconds: 1,
                  containers: [
                    { name: 'web', image: TESTSERVER, ports: [{ name: 'http', containerPort: 8080 }] },
                    { name: 'alt', image: TESTSERVER, args: ['serve', '--http-port', '8081', '--grpc-port', '9091'], ports: [{ name: 'alt', containerPort: 8081 }] },
                  ],
                },
              },
            },
          },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
        ],
      }),
    });
    await c.k(['apply', '-f', '-'], { input: clientPod('frontend', 'frontend', 'n1') });
    await c.k(['apply', '-f', '-'], { input: clientPod('other', 'other', 'n1') });
    [web] = await waitPods(c, 'app=web', (ps) => ps.length === 1 && isReady(ps[0]!), 120_000, NS);
    await waitPod(c, 'frontend', isReady, 90_000, NS);
    await waitPod(c, 'other', isReady, 90_000, NS);
    webVip = (await getJson(c, ['service', 'web', '-n', NS])).spec.clusterIP;
  });
  after(async () => {
    await c?.destroy();
  });

  it('without a policy every pod reaches the web pod across nodes, by pod IP and through its Service', async () => {
    const ip = web.status.podIP!;
    for (const pod of ['frontend', 'other']) {
      await waitReach(pod, webVip, 80, true);
      assert.equal(await get(pod, ip, 8080), web.metadata.name);
      assert.equal(await get(pod, ip, 8081), web.metadata.name);
      assert.equal(await get(pod, webVip, 80), web.metadata.name);
    }
  });

  it('a default-deny ingress policy blocks every connection into the namespace\'s pods', async () => {
    await c.k(['apply', '-f', '-'], { input: policy('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }) });
    const ip = web.status.podIP!;
    await waitReach('other', ip, 8080, false);
    for (const pod of ['frontend', 'other']) {
      for (const [host, port] of [[ip, 8080], [ip, 8081], [webVip, 80]] as const) {
        assert.equal(await get(pod, host, port), undefined, `${pod} → ${host}:${port} passed a default deny`);
      }
    }
    // ingress into the clients too: the web pod cannot open a connection to them (nothing listens
    // there, so an admitted SYN would be refused at once; a dropped one times out)
    const fromWeb = await c.kubectl(['exec', '-n', NS, web.metadata.name, '-c', 'web', '--', 'sh', '-c', `timeout 3 wget -q -O- http://${(await waitPod(c, 'frontend', isReady, 10_000, NS)).status.podIP}:8080/ 2>&1; echo exit=$?`]);
    assert.match(fromWeb.stdout, /exit=143/, `the SYN was not dropped: ${fromWeb.stdout}`);
  });

  it('a later allow rule (podSelector + port) admits only the chosen clients on the chosen port, and the replies reach them', async () => {
    await c.k(['apply', '-f', '-'], {
      input: policy('web-from-frontend', {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 'http' }] }],
      }),
    });
    const ip = web.status.podIP!;
    await waitReach('frontend', ip, 8080, true);
    // The answer is a reply into frontend, itself under the default deny: replies always pass.
    assert.equal(await get('frontend', ip, 8080), web.metadata.name);
    assert.equal(await get('frontend', webVip, 80), web.metadata.name, 'through the Service (the policy sees the pod port after DNAT)');
    // only the named port
    assert.equal(await get('frontend', ip, 8081), undefined, 'frontend reached a port the rule does not name');
    // only the selected clients
    for (const [host, port] of [[ip, 8080], [ip, 8081], [webVip, 80]] as const) {
      assert.equal(await get('other', host, port), undefined, `other → ${host}:${port} passed`);
    }
    // Many connections in a row: each is admitted (not only the first, nor only while conntrack remembers one).
    for (let i = 0; i < 10; i++) assert.equal(await get('frontend', ip, 8080), web.metadata.name);

    // Removing the default deny leaves web under its own policy (other still blocked), and opens the rest.
    await c.k(['delete', 'networkpolicy', '-n', NS, 'default-deny-ingress']);
    await waitReach('frontend', ip, 8080, true);
    assert.equal(await get('other', ip, 8080), undefined);
    await c.k(['delete', 'networkpolicy', '-n', NS, 'web-from-frontend']);
    await waitReach('other', ip, 8080, true);
    assert.equal(await get('other', ip, 8081), web.metadata.name);
  });

  it('peers by namespaceSelector admit a client of a labelled namespace only; an ipBlock with except admits its range but the excepted pod', async () => {
    const ip = web.status.podIP!;
    await c.k(['create', 'namespace', 'np-ext']);
    await c.k(['label', 'namespace', 'np-ext', 'team=ext']);
    await until('the default ServiceAccount of np-ext', 30_000, async () => ((await c.kubectl(['get', 'serviceaccount', 'default', '-n', 'np-ext'])).code === 0 ? true : undefined));
    await c.k(['apply', '-f', '-'], { input: clientPod('outsider', 'frontend', 'n1', 'np-ext') });
    await waitPod(c, 'outsider', isReady, 90_000, 'np-ext');
    const fromExt = async (host: string, port: number) => {
      const r = await c.kubectl(['exec', '-n', 'np-ext', 'outsider', '--', 'timeout', '3', 'wget', '-q', '-O-', `http://${host}:${port}/hostname`]);
      return r.code === 0 ? r.stdout : undefined;
    };
    assert.equal(await fromExt(ip, 8080), web.metadata.name);
    // namespaceSelector alone: every pod of the labelled namespaces, none of the policy's own
    await c.k(['apply', '-f', '-'], {
      input: policy('web-from-ext', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ext' } } }] }] }),
    });
    await waitReach('frontend', ip, 8080, false);
    assert.equal(await fromExt(ip, 8080), web.metadata.name);
    assert.equal(await fromExt(ip, 8081), web.metadata.name, 'no ports: every port');
    assert.equal(await get('other', ip, 8080), undefined);

    // ipBlock: n1's pod CIDR (all three clients live there) except the other pod's address
    const podCidr = (await getJson(c, ['node', 'n1'])).spec.podCIDR as string;
    const otherIp = (await waitPod(c, 'other', isReady, 10_000, NS)).status.podIP!;
    await c.k(['apply', '-f', '-'], {
      input: policy('web-from-ext', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: podCidr, except: [`${otherIp}/32`] } }], ports: [{ port: 8080 }] }] }),
    });
    await waitReach('frontend', ip, 8080, true);
    assert.equal(await fromExt(ip, 8080), web.metadata.name);
    assert.equal(await get('other', ip, 8080), undefined, 'the excepted address passed');
    assert.equal(await get('frontend', ip, 8081), undefined, 'a port outside the rule passed');
    await c.k(['delete', 'networkpolicy', '-n', NS, 'web-from-ext']);
    await waitReach('other', ip, 8080, true);
  });

  it('an egress policy on the client blocks its outgoing connections; removing it lets them through again', async () => {
    const ip = web.status.podIP!;
    await c.k(['apply', '-f', '-'], { input: policy('frontend-no-egress', { podSelector: { matchLabels: { role: 'frontend' } }, policyTypes: ['Egress'] }) });
    await waitReach('frontend', ip, 8080, false);
    assert.equal(await get('frontend', webVip, 80), undefined);
    // other pods are untouched
    assert.equal(await get('other', ip, 8080), web.metadata.name);
    // egress allowed to the web pods on port http only
    await c.k(['apply', '-f', '-'], {
      input: policy('frontend-no-egress', {
        podSelector: { matchLabels: { role: 'frontend' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
      }),
    });
    await waitReach('frontend', ip, 8080, true);
    assert.equal(await get('frontend', webVip, 80), web.metadata.name);
    assert.equal(await get('frontend', ip, 8081), undefined);
    await c.k(['delete', 'networkpolicy', '-n', NS, 'frontend-no-egress']);
    await waitReach('frontend', ip, 8081, true);
  });
});
