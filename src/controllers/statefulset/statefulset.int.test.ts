// The StatefulSet controller against an in-process API server: ordered creation with claims,
// Parallel, scale down, rolling updates with a partition, OnDelete, revisions and the claim
// retention policy. Pods are flipped Ready by the test, as a kubelet would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import type { Client } from '../../client/client.ts';
import { setPodReady, startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { createNamespace, eventsFor, waitFor } from '../workload/test-helpers.ts';
import { statefulSetController } from './statefulset-controller.ts';

type Json = any;

function sts(name: string, o: { replicas?: number; policy?: string; updateStrategy?: Json; claims?: boolean; image?: string; retention?: Json; historyLimit?: number } = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: name,
      podManagementPolicy: o.policy ?? 'OrderedReady',
      selector: { matchLabels: { app: name } },
      ...(o.updateStrategy ? { updateStrategy: o.updateStrategy } : {}),
      ...(o.retention ? { persistentVolumeClaimRetentionPolicy: o.retention } : {}),
      ...(o.historyLimit !== undefined ? { revisionHistoryLimit: o.historyLimit } : {}),
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: o.image ?? 'nginx:1' }] } },
      ...(o.claims === false
        ? {}
        : { volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }),
    },
  };
}

describe('StatefulSet controller', () => {
  let env: ControllerTestEnv;
  let client: Client;
  let ns = 0;
  const pods = (n: string) => client.resource('', 'pods').namespace(n);
  const sets = (n: string) => client.resource('apps', 'statefulsets').namespace(n);
  const podNames = async (n: string) => (await pods(n).list()).items.map((p) => p.metadata.name!).sort();
  const newNs = async () => {
    const name = `sts-${++ns}`;
    await createNamespace(client, name);
    return name;
  };
  /** Waits for the pod to exist (a fresh one, if `notUid`), then marks it Running and Ready. */
  const readyWhenCreated = async (n: string, name: string, notUid?: string) => {
    const p = await waitFor(`pod ${name}`, async () => {
      const got = await pods(n).get(name).catch(() => undefined);
      return got && got.metadata.uid !== notUid && !got.metadata.deletionTimestamp ? got : undefined;
    });
    await setPodReady(client, n, name);
    return p;
  };

  before(async () => {
    env = await startControllerTest([statefulSetController()], { log: process.env.CONTROLLER_LOG ? (m) => console.error(m) : undefined });
    client = env.client;
  });
  after(async () => {
    await env.stop();
  });

  test('OrderedReady creates web-0, web-1, web-2 one at a time, each after its predecessor is Ready, with its claim first', async () => {
    const n = await newNs();
    await sets(n).create(sts('web'));
    const web0 = await waitFor('web-0', () => pods(n).get('web-0').catch(() => undefined));
    const claim0 = await client.resource('', 'persistentvolumeclaims').namespace(n).get('www-web-0');
    assert.equal(claim0.metadata.labels?.app, 'web', 'claims carry the selector labels');
    assert.deepEqual((claim0 as Json).spec.resources.requests, { storage: '1Gi' });
    // web-1 waits for web-0 to be Ready
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await podNames(n), ['web-0']);
    assert.equal(web0.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'web-0');
    assert.equal(web0.metadata.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.equal((web0 as Json).spec.hostname, 'web-0');
    assert.equal((web0 as Json).spec.subdomain, 'web');
    assert.deepEqual((web0 as Json).spec.volumes.find((v: Json) => v.name === 'www'), { name: 'www', persistentVolumeClaim: { claimName: 'www-web-0' } });
    assert.equal(web0.metadata.ownerReferences?.[0]?.kind, 'StatefulSet');
    assert.equal(web0.metadata.ownerReferences?.[0]?.controller, true);

    await setPodReady(client, n, 'web-0');
    await readyWhenCreated(n, 'web-1');
    await new Promise((r) => setTimeout(r, 100));
    await readyWhenCreated(n, 'web-2');
    assert.deepEqual(await podNames(n), ['web-0', 'web-1', 'web-2']);
    const claims = (await client.resource('', 'persistentvolumeclaims').namespace(n).list()).items.map((c) => c.metadata.name).sort();
    assert.deepEqual(claims, ['www-web-0', 'www-web-1', 'www-web-2']);

    const set = await waitFor('status readyReplicas 3', async () => {
      const s = (await sets(n).get('web')) as Json;
      return s.status?.readyReplicas === 3 && s.status?.availableReplicas === 3 ? s : undefined;
    });
    assert.equal(set.status.replicas, 3);
    assert.equal(set.status.currentReplicas, 3);
    assert.equal(set.status.updatedReplicas, 3);
    assert.equal(set.status.observedGeneration, set.metadata.generation);
    assert.match(set.status.currentRevision, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(set.status.currentRevision, set.status.updateRevision);
    const hashes = new Set((await pods(n).list()).items.map((p) => p.metadata.labels?.['controller-revision-hash']));
    assert.deepEqual([...hashes], [set.status.currentRevision]);

    const events = await waitFor('events', async () => {
      const ev = await eventsFor(client, n, 'StatefulSet', 'web');
      return ev.filter((e) => e.reason === 'SuccessfulCreate').length >= 6 ? ev : undefined;
    });
    const messages = events.map((e) => e.message);
    for (const i of [0, 1, 2]) {
      assert.ok(messages.includes(`create Pod web-${i} in StatefulSet web successful`), messages.join('\n'));
      assert.ok(messages.includes(`create Claim www-web-${i} Pod web-${i} in StatefulSet web success`), messages.join('\n'));
    }
    assert.ok(events.every((e) => e.source?.component === 'statefulset-controller'));
  });

  test('Parallel creates every pod at once, and scaling down removes the highest ordinals', async () => {
    const n = await newNs();
    await sets(n).create(sts('par', { policy: 'Parallel', claims: false, replicas: 4 }));
    await waitFor('4 pods without readiness', async () => (await podNames(n)).length === 4);
    assert.deepEqual(await podNames(n), ['par-0', 'par-1', 'par-2', 'par-3']);
    await sets(n).patch('par', 'merge', { spec: { replicas: 1 } });
    await waitFor('scaled to 1', async () => JSON.stringify(await podNames(n)) === JSON.stringify(['par-0']));
    const set = await waitFor('status replicas 1', async () => {
      const s = (await sets(n).get('par')) as Json;
      return s.status?.replicas === 1 ? s : undefined;
    });
    assert.equal(set.status.readyReplicas ?? 0, 0);
  });

  test('OrderedReady scale down waits while a remaining pod is unready, then deletes from the highest ordinal', async () => {
    const n = await newNs();
    await sets(n).create(sts('down', { claims: false, replicas: 3 }));
    await readyWhenCreated(n, 'down-0');
    await readyWhenCreated(n, 'down-1');
    await readyWhenCreated(n, 'down-2');
    await setPodReady(client, n, 'down-0', false);
    await sets(n).patch('down', 'merge', { spec: { replicas: 1 } });
    // down-0 stays and is unready: nothing is removed while it is unhealthy
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await podNames(n), ['down-0', 'down-1', 'down-2']);
    await setPodReady(client, n, 'down-0', true);
    await waitFor('scaled to 1', async () => JSON.stringify(await podNames(n)) === JSON.stringify(['down-0']));
    const deletes = await waitFor('two delete events', async () => {
      const d = (await eventsFor(client, n, 'StatefulSet', 'down')).filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message);
      return d.length >= 2 ? d : undefined;
    });
    assert.deepEqual(deletes.sort(), ['delete Pod down-1 in StatefulSet down successful', 'delete Pod down-2 in StatefulSet down successful']);
  });

  test('RollingUpdate with a partition replaces pods from the highest ordinal down to the partition, each after the previous is Ready', async () => {
    const n = await newNs();
    await sets(n).create(sts('ru', { claims: false }));
    const uids: Record<string, string> = {};
    for (const i of [0, 1, 2]) uids[`ru-${i}`] = (await readyWhenCreated(n, `ru-${i}`)).metadata.uid!;
    const before = await waitFor('ready', async () => {
      const s = (await sets(n).get('ru')) as Json;
      return s.status?.readyReplicas === 3 ? s : undefined;
    });
    const oldRev = before.status.currentRevision;
    await sets(n).patch('ru', 'merge', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } } });

    // ru-2 goes first; ru-1 is not touched while ru-2's replacement is not Ready
    const new2 = await readyWhenCreated(n, 'ru-2', uids['ru-2']);
    assert.equal((new2 as Json).spec.containers[0].image, 'nginx:2');
    const mid = (await sets(n).get('ru')) as Json;
    assert.notEqual(mid.status.updateRevision, oldRev);
    assert.equal(new2.metadata.labels?.['controller-revision-hash'], mid.status.updateRevision);
    const new1 = await readyWhenCreated(n, 'ru-1', uids['ru-1']);
    assert.equal((new1 as Json).spec.containers[0].image, 'nginx:2');
    await new Promise((r) => setTimeout(r, 300));
    const p0 = await pods(n).get('ru-0');
    assert.equal(p0.metadata.uid, uids['ru-0'], 'ru-0 is below the partition and kept');
    assert.equal(p0.metadata.labels?.['controller-revision-hash'], oldRev);
    const part = await waitFor('updatedReplicas 2', async () => {
      const s = (await sets(n).get('ru')) as Json;
      return s.status?.updatedReplicas === 2 && s.status?.readyReplicas === 3 ? s : undefined;
    });
    assert.equal(part.status.currentRevision, oldRev);
    assert.equal(part.status.currentReplicas, 1);

    // partition 0 finishes the rollout; the update revision becomes current
    await sets(n).patch('ru', 'merge', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
    await readyWhenCreated(n, 'ru-0', uids['ru-0']);
    const done = await waitFor('rollout complete', async () => {
      const s = (await sets(n).get('ru')) as Json;
      return s.status?.currentRevision === s.status?.updateRevision && s.status?.updatedReplicas === 3 && s.status?.readyReplicas === 3 ? s : undefined;
    });
    assert.equal(done.status.currentReplicas, 3);
    const revs = (await client.resource('apps', 'controllerrevisions').namespace(n).list()).items as Json[];
    assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
    assert.ok(revs.every((r) => r.metadata.ownerReferences[0].uid === done.metadata.uid && r.metadata.labels['controller.kubernetes.io/hash']));
    const latest = revs.find((r) => r.metadata.name === done.status.updateRevision);
    assert.equal(latest.revision, 2);
    assert.equal(latest.data.spec.template.$patch, 'replace');
    assert.equal(latest.data.spec.template.spec.containers[0].image, 'nginx:2');
  });

  test('OnDelete changes nothing until a pod is deleted; the replacement has the new template', async () => {
    const n = await newNs();
    await sets(n).create(sts('od', { claims: false, replicas: 2, updateStrategy: { type: 'OnDelete' } }));
    const p0 = await readyWhenCreated(n, 'od-0');
    const p1 = await readyWhenCreated(n, 'od-1');
    await sets(n).patch('od', 'merge', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:9' }] } } } });
    await waitFor('update revision recorded', async () => {
      const s = (await sets(n).get('od')) as Json;
      return s.status?.updateRevision && s.status.updateRevision !== s.status.currentRevision;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await pods(n).get('od-1')).metadata.uid, p1.metadata.uid);
    await pods(n).delete('od-1');
    const fresh = await readyWhenCreated(n, 'od-1', p1.metadata.uid);
    assert.equal((fresh as Json).spec.containers[0].image, 'nginx:9');
    assert.equal((await pods(n).get('od-0')).metadata.uid, p0.metadata.uid);
  });

  test('revisionHistoryLimit keeps only that many unused revisions; rolling back reuses the old revision with a new number', async () => {
    const n = await newNs();
    await sets(n).create(sts('hist', { claims: false, replicas: 1, historyLimit: 1 }));
    await readyWhenCreated(n, 'hist-0');
    const revisions = async () => ((await client.resource('apps', 'controllerrevisions').namespace(n).list()).items as Json[]).sort((a, b) => a.revision - b.revision);
    const first = await waitFor('one revision', async () => ((await revisions()).length === 1 ? (await revisions())[0] : undefined));
    let uid = (await pods(n).get('hist-0')).metadata.uid;
    for (const image of ['nginx:2', 'nginx:3']) {
      await sets(n).patch('hist', 'merge', { spec: { template: { spec: { containers: [{ name: 'web', image }] } } } });
      uid = (await readyWhenCreated(n, 'hist-0', uid)).metadata.uid;
      await waitFor(`rolled to ${image}`, async () => {
        const s = (await sets(n).get('hist')) as Json;
        return s.status?.currentRevision === s.status?.updateRevision && s.status?.updatedReplicas === 1;
      });
    }
    const revs = await waitFor('history truncated to 2', async () => {
      const r = await revisions();
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(revs.map((r) => r.revision), [2, 3], 'the oldest unused revision was deleted');
    // back to the first template: its content, under a new revision number
    await sets(n).patch('hist', 'merge', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } } });
    await readyWhenCreated(n, 'hist-0', uid);
    const s = await waitFor('rolled back', async () => {
      const cur = (await sets(n).get('hist')) as Json;
      return cur.status?.currentRevision === cur.status?.updateRevision && cur.status?.updatedReplicas === 1 ? cur : undefined;
    });
    assert.equal(s.status.updateRevision, first.metadata.name, 'same template, same name');
    const r = (await revisions()).find((x) => x.metadata.name === first.metadata.name);
    assert.equal(r.revision, 4);
  });

  test('persistentVolumeClaimRetentionPolicy: whenDeleted=Delete owns claims by the set; whenScaled=Delete hands a scaled-away claim to its pod', async () => {
    const n = await newNs();
    const claims = client.resource('', 'persistentvolumeclaims').namespace(n);
    await sets(n).create(sts('keep', { replicas: 2, retention: { whenDeleted: 'Delete', whenScaled: 'Delete' } }));
    await readyWhenCreated(n, 'keep-0');
    const p1 = await readyWhenCreated(n, 'keep-1');
    const set = await sets(n).get('keep');
    const c1 = await claims.get('www-keep-1');
    assert.deepEqual(c1.metadata.ownerReferences?.map((r) => [r.kind, r.uid]), [['StatefulSet', set.metadata.uid]]);
    await sets(n).patch('keep', 'merge', { spec: { replicas: 1 } });
    await waitFor('keep-1 gone', async () => !(await podNames(n)).includes('keep-1'));
    const after1 = await claims.get('www-keep-1');
    assert.deepEqual(after1.metadata.ownerReferences?.map((r) => [r.kind, r.uid]), [['Pod', p1.metadata.uid]], 'the garbage collector deletes it with the pod');
    const c0 = await claims.get('www-keep-0');
    assert.deepEqual(c0.metadata.ownerReferences?.map((r) => r.kind), ['StatefulSet']);
  });
});
