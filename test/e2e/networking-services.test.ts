// Service networking end to end (issue 6, acceptance), for real and as root: a server and two
// agent nodes in network namespaces with no route out (cluster.ts), pods in each node's containerd,
// routes between the nodes' pod CIDRs, each node's nftables service proxy and cluster DNS, driven
// by the real kubectl. Clients outside the nodes (NodePort, LoadBalancer) run in the server's
// namespace, which reaches the nodes only over the fabric.
//
// Pods resolve names with busybox's wget, which goes through the C library's resolver (busybox is
// static glibc 2.36, whose DNS backend is built in): it honours the search list and ndots of the
// resolv.conf the kubelet writes. (busybox's nslookup does not: it is used with full names in
// networking-dns.test.ts.) busybox 1.35's `wget -T` crashes: timeouts come from `timeout`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, SERVER_IP, type E2ECluster, type E2ENode } from './cluster.ts';
import { getJson, httpGetIn, isReady, pods, until, waitPod, waitPods, type PodJson } from './kube.ts';

const TESTSERVER = 'registry.rudder.test/testserver:1';

/** A pod manifest pinned to a node, sleeping (a client to exec into: busybox, and `testserver fetch`). */
function clientPod(name: string, node: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { role: 'client' } },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: TESTSERVER, command: ['sleep', '3600'] }], ...extra },
  });
}

/** The hostnames answering `count` GETs of url from inside a pod (busybox wget, one connection each). */
async function hostnamesFrom(c: E2ECluster, pod: string, url: string, count: number): Promise<string[]> {
  const script = `for i in $(seq ${count}); do timeout 5 wget -q -O- ${url} || echo FAILED; echo; done`;
  const out = await c.k(['exec', pod, '--', 'sh', '-c', script]);
  return out.split('\n').filter(Boolean);
}

/** Addresses of a Service's EndpointSlices, by readiness. */
async function sliceAddresses(c: E2ECluster, svc: string): Promise<{ ready: string[]; notReady: string[] }> {
  const slices = await getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>(c, ['endpointslices', '-l', `kubernetes.io/service-name=${svc}`]);
  const out = { ready: [] as string[], notReady: [] as string[] };
  for (const s of slices.items) for (const e of s.endpoints ?? []) (e.conditions?.ready ? out.ready : out.notReady).push(...e.addresses);
  return { ready: out.ready.sort(), notReady: out.notReady.sort() };
}

describe('Service networking across two nodes: NodePort, ClusterIP by DNS name, ready endpoints, LoadBalancer, the kubernetes Service', () => {
  let c: E2ECluster;
  let n1: E2ENode;
  let n2: E2ENode;
  before(async () => {
    c = await startCluster();
    n1 = await c.addNode('n1');
    n2 = await c.addNode('n2');
    await Promise.all([c.waitReady('n1'), c.waitReady('n2')]);
  });
  after(async () => {
    await c?.destroy();
  });

  it('the seed walkthrough: kubectl expose deployment hello-world --type=NodePort --port=8080, then HTTP to each node address and the NodePort is answered by the test server', async () => {
    assert.equal(await c.k(['create', 'deployment', 'hello-world', `--image=${TESTSERVER}`]), 'deployment.apps/hello-world created\n');
    const [pod] = await waitPods(c, 'app=hello-world', (ps) => ps.length === 1 && isReady(ps[0]!));
    assert.equal(await c.k(['expose', 'deployment', 'hello-world', '--type=NodePort', '--port=8080']), 'service/hello-world exposed\n');
    const svc = await getJson(c, ['service', 'hello-world']);
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    const nodePort = svc.spec.ports[0].nodePort as number;
    // `kubectl get service` as the seed shows it
    const row = (await c.k(['get', 'service', 'hello-world'])).trim().split('\n')[1]!;
    assert.match(row, new RegExp(`^hello-world\\s+NodePort\\s+${svc.spec.clusterIP.replace(/\./g, '\\.')}\\s+<none>\\s+8080:${nodePort}/TCP\\s+\\d+s$`));
    // From outside the nodes (the server's namespace, on the fabric): both nodes answer, the one
    // without the pod forwarding to the other.
    for (const node of [n1, n2]) {
      const r = await until(`HTTP to ${node.name} ${node.ip}:${nodePort}`, 30_000, () => httpGetIn(c.serverNs, `http://${node.ip}:${nodePort}/`).catch(() => undefined));
      assert.equal(r.status, 200);
      assert.equal(r.body, `testserver ${pod!.metadata.name}\n`);
    }
    const echoed = await httpGetIn(c.serverNs, `http://${n2.ip}:${nodePort}/echo?msg=hello%20rudder`);
    assert.equal(echoed.body, 'hello rudder');
  });

  it('a pod on one node reaches, by DNS name, a Service whose endpoints are all on the other node', async () => {
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { nodeSelector: { 'kubernetes.io/hostname': 'n2' }, containers: [{ name: 'web', image: TESTSERVER, ports: [{ name: 'http', containerPort: 8080 }] }] },
          },
        },
      }),
    });
    await c.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }) });
    await c.k(['apply', '-f', '-'], { input: clientPod('client-n1', 'n1') });
    const webPods = await waitPods(c, 'app=web', (ps) => ps.length === 2 && ps.every(isReady));
    assert.deepEqual([...new Set(webPods.map((p) => p.spec.nodeName))], ['n2']);
    await waitPod(c, 'client-n1', isReady);
    await until('the web Service has both endpoints', 30_000, async () => ((await sliceAddresses(c, 'web')).ready.length === 2 ? true : undefined));
    const names = new Set(webPods.map((p) => p.metadata.name));
    // The full name, the namespace-relative one and the bare one (the search list): every answer
    // comes from a web pod on n2.
    for (const host of ['web.default.svc.cluster.local', 'web.default', 'web']) {
      const got = await until(`GET http://${host}/hostname from n1`, 30_000, async () => {
        const hs = await hostnamesFrom(c, 'client-n1', `http://${host}/hostname`, 6);
        return hs.every((h) => names.has(h)) ? hs : undefined;
      });
      assert.equal(got.length, 6);
    }
    // The ClusterIP itself, from the client pod's own resolver view
    const ip = (await getJson(c, ['service', 'web'])).spec.clusterIP as string;
    const direct = await hostnamesFrom(c, 'client-n1', `http://${ip}/hostname`, 4);
    assert.ok(direct.every((h) => names.has(h)), direct.join(','));
  });

  it('scaling the Deployment spreads traffic over every ready endpoint; a pod that turns unready gets none until it is ready again', async () => {
    // hello-world gains a readiness probe on the test server's /readyz, then scales out
    await c.k(['patch', 'deployment', 'hello-world', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'testserver', readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1 } }] } } } })]);
    assert.equal(await c.k(['scale', 'deployment/hello-world', '--replicas=4']), 'deployment.apps/hello-world scaled\n');
    const ps = await waitPods(c, 'app=hello-world', (ps) => ps.length === 4 && ps.every((p) => isReady(p) && !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp), 120_000);
    const byName = new Map(ps.map((p) => [p.metadata.name, p]));
    const ips = ps.map((p) => p.status.podIP!).sort();
    await until('the Service has the 4 endpoints, all ready', 30_000, async () => (JSON.stringify((await sliceAddresses(c, 'hello-world')).ready) === JSON.stringify(ips) ? true : undefined));
    await c.k(['apply', '-f', '-'], { input: clientPod('client-n2', 'n2') });
    await waitPod(c, 'client-n2', isReady);
    const url = 'http://hello-world:8080/hostname';
    const seen = await until('traffic reaches all 4 pods', 60_000, async () => {
      const hs = await hostnamesFrom(c, 'client-n2', url, 40);
      return new Set(hs).size === 4 ? hs : undefined;
    });
    assert.ok(seen.every((h) => byName.has(h)), seen.join(','));

    // One pod (on the other node than the client, if any) turns unready through its /set endpoint.
    const victim = ps.find((p) => p.spec.nodeName === 'n1') ?? ps[0]!;
    assert.equal((await httpGetIn(n2.ns, `http://${victim.status.podIP}:8080/set?ready=0`)).body, 'live=1 ready=0 grpc=1\n');
    await waitPod(c, victim.metadata.name, (p) => !isReady(p), 30_000);
    await until('the EndpointSlice marks it not ready', 30_000, async () => ((await sliceAddresses(c, 'hello-world')).notReady.includes(victim.status.podIP!) ? true : undefined));
    // The proxies apply the change within their sync period; from then on it gets no traffic.
    await until('no traffic reaches the unready pod', 30_000, async () => ((await hostnamesFrom(c, 'client-n2', url, 10)).includes(victim.metadata.name) ? undefined : true));
    const later = [...(await hostnamesFrom(c, 'client-n2', url, 40)), ...(await hostnamesFrom(c, 'client-n1', url, 20))];
    assert.ok(!later.includes(victim.metadata.name), `an unready endpoint answered: ${later.join(',')}`);
    assert.ok(!later.includes('FAILED'), later.join(','));
    assert.equal(new Set(later).size, 3, later.join(','));
    // NodePorts too, on both nodes
    const nodePort = (await getJson(c, ['service', 'hello-world'])).spec.ports[0].nodePort as number;
    for (const node of [n1, n2]) {
      for (let i = 0; i < 8; i++) assert.notEqual((await httpGetIn(c.serverNs, `http://${node.ip}:${nodePort}/hostname`)).body, victim.metadata.name);
    }

    // Ready again: back in the rotation.
    await httpGetIn(n2.ns, `http://${victim.status.podIP}:8080/set?ready=1`);
    await waitPod(c, victim.metadata.name, isReady, 30_000);
    await until('the pod gets traffic again', 60_000, async () => ((await hostnamesFrom(c, 'client-n2', url, 20)).includes(victim.metadata.name) ? true : undefined));
  });

  it('a LoadBalancer Service gets the node addresses as status.loadBalancer.ingress and answers on them', async () => {
    assert.equal(await c.k(['expose', 'deployment', 'hello-world', '--type=LoadBalancer', '--name=hello-lb', '--port=80', '--target-port=8080']), 'service/hello-lb exposed\n');
    const svc = await until('hello-lb gets ingress addresses', 30_000, async () => {
      const s = await getJson(c, ['service', 'hello-lb']);
      return (s.status?.loadBalancer?.ingress ?? []).length === 2 ? s : undefined;
    });
    assert.deepEqual(
      svc.status.loadBalancer.ingress.map((i: { ip: string; ipMode?: string }) => `${i.ip} ${i.ipMode}`).sort(),
      [n1.ip, n2.ip].map((ip) => `${ip} VIP`).sort(),
    );
    const row = (await c.k(['get', 'service', 'hello-lb'])).trim().split('\n')[1]!;
    assert.match(row, new RegExp(`^hello-lb\\s+LoadBalancer\\s+\\S+\\s+${[n1.ip, n2.ip].join(',').replace(/\./g, '\\.')}\\s+80:\\d+/TCP\\s+\\d+s$`));
    const names = new Set((await pods(c, 'app=hello-world')).map((p) => p.metadata.name));
    for (const ingress of svc.status.loadBalancer.ingress as { ip: string }[]) {
      const r = await until(`HTTP to ${ingress.ip}:80`, 30_000, () => httpGetIn(c.serverNs, `http://${ingress.ip}/hostname`).catch(() => undefined));
      assert.equal(r.status, 200);
      assert.ok(names.has(r.body), r.body);
    }
  });

  it("a pod's own service-account token reaches the API server through the kubernetes Service", async () => {
    const kubernetes = await getJson(c, ['service', 'kubernetes']);
    assert.equal(kubernetes.spec.clusterIP, '10.43.0.1');
    const eps = await sliceAddresses(c, 'kubernetes');
    assert.deepEqual(eps.ready, [SERVER_IP], 'the API server is reached at its advertise address on the fabric');
    await c.k(['create', 'rolebinding', 'default-view', '--clusterrole=view', '--serviceaccount=default:default']);
    // As client-go's in-cluster configuration does: the token and CA of the pod's service-account
    // volume, the server's certificate checked against that CA and the name asked for. Once by the
    // Service's DNS name, once by the KUBERNETES_SERVICE_HOST/PORT the kubelet puts in the environment.
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    const fetch = (url: string, extra = '') => c.kubectl(['exec', 'client-n1', '--', 'sh', '-c', `/testserver fetch --cacert ${sa}/ca.crt --bearer-file ${sa}/token ${extra} ${url}`]);
    for (const url of ['https://kubernetes.default.svc/api/v1/namespaces/default/pods', 'https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods']) {
      const list = await fetch(url);
      assert.equal(list.code, 0, `${url}: ${list.stderr}`);
      const podList = JSON.parse(list.stdout) as { kind: string; items: PodJson[] };
      assert.equal(podList.kind, 'PodList');
      assert.ok(podList.items.some((p) => p.metadata.name === 'client-n1'), 'the list holds the asking pod');
    }
    // who the API server took the caller for
    const review = await fetch('https://kubernetes.default.svc/apis/authentication.k8s.io/v1/selfsubjectreviews', `--header 'Content-Type: application/json' --data '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}'`);
    assert.equal(review.code, 0, review.stderr);
    const user = JSON.parse(review.stdout).status.userInfo;
    assert.equal(user.username, 'system:serviceaccount:default:default');
    // without the token the same request is anonymous, and refused
    const anonymous = await c.kubectl(['exec', 'client-n1', '--', '/testserver', 'fetch', '--cacert', `${sa}/ca.crt`, 'https://kubernetes.default.svc/api/v1/namespaces/default/pods']);
    assert.equal(anonymous.code, 22, anonymous.stderr);
    assert.match(anonymous.stderr, /^HTTP 40[13]$/m);
    assert.deepEqual(user.extra?.['authentication.kubernetes.io/pod-name'], ['client-n1']);
  });
});
