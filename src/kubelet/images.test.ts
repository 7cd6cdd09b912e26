// Image pulls through the simulated runtime: pull policies, back-off, pull-secret credentials, and
// upstream's event wording.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod, Secret } from './api-types.ts';
import { applyDefaultImageTag, credentialsFor, ImageError, ImageManager, registryOf } from './images.ts';
import { SimulatedRuntime } from './runtime/simulated.ts';
import type { AuthConfig } from './runtime/runtime.ts';

const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u1' }, spec: { containers: [] } };

function dockerSecret(auths: Record<string, object>): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') } };
}

describe('image references and credentials', () => {
  it('adds :latest only to references without tag or digest', () => {
    assert.equal(applyDefaultImageTag('busybox'), 'busybox:latest');
    assert.equal(applyDefaultImageTag('localhost:5000/app'), 'localhost:5000/app:latest');
    assert.equal(applyDefaultImageTag('busybox:1.36'), 'busybox:1.36');
    assert.equal(applyDefaultImageTag('busybox@sha256:abc'), 'busybox@sha256:abc');
    assert.equal(registryOf('busybox'), 'docker.io');
    assert.equal(registryOf('localhost:5000/app:1'), 'localhost:5000');
    assert.equal(registryOf('registry.rudder.test/x/y:1'), 'registry.rudder.test');
  });

  it('picks the pull secret of the image\'s registry, the longest matching path first', () => {
    const s = dockerSecret({
      'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') },
      'registry.rudder.test': { username: 'u', password: 'p' },
      'registry.rudder.test/team': { username: 'team', password: 'tp' },
    });
    assert.deepEqual(credentialsFor('nginx:1', [s]), { server_address: 'docker.io', username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(credentialsFor('registry.rudder.test/app:1', [s]), { server_address: 'registry.rudder.test', username: 'u', password: 'p' });
    assert.deepEqual(credentialsFor('registry.rudder.test/team/app:1', [s]), { server_address: 'registry.rudder.test', username: 'team', password: 'tp' });
    assert.equal(credentialsFor('quay.io/x:1', [s]), undefined);
  });
});

describe('ImageManager', () => {
  const container = (image: string, imagePullPolicy?: Container['imagePullPolicy']): Container => ({ name: 'c', image, imagePullPolicy });
  const setup = (pullable = (_: string) => true) => {
    let now = 1_000_000;
    const auths: (AuthConfig | undefined)[] = [];
    const rt = new SimulatedRuntime({ images: ['docker.io/library/busybox:1.36'], pullable });
    const orig = rt.pullImage.bind(rt);
    rt.pullImage = (i, auth, sc) => {
      auths.push(auth);
      now += 1234;
      return orig(i, auth, sc);
    };
    const m = new ImageManager(rt, () => now);
    const events: string[] = [];
    const ensure = (c: Container, pullSecrets: Secret[] = []) => m.ensureImageExists({ pod, container: c, pullSecrets, event: (t, r, msg) => events.push(`${t} ${r}: ${msg}`) });
    return { rt, m, events, ensure, auths, advance: (ms: number) => (now += ms) };
  };

  it('uses a present image for IfNotPresent without pulling', async () => {
    const t = setup();
    const info = await t.ensure(container('busybox:1.36', 'IfNotPresent'));
    assert.match(info.imageRef, /^sha256:/);
    assert.deepEqual(t.events, ['Normal Pulled: Container image "busybox:1.36" already present on machine']);
    assert.deepEqual(t.auths, []);
  });

  it('pulls for Always, with the pull secret, and reports the time and size', async () => {
    const t = setup();
    await t.ensure(container('registry.rudder.test/app:1', 'Always'), [dockerSecret({ 'registry.rudder.test': { username: 'u', password: 'p' } })]);
    assert.deepEqual(t.events, [
      'Normal Pulling: Pulling image "registry.rudder.test/app:1"',
      'Normal Pulled: Successfully pulled image "registry.rudder.test/app:1" in 1.234s (1.234s including waiting). Image size: 1048576 bytes.',
    ]);
    assert.deepEqual(t.auths, [{ server_address: 'registry.rudder.test', username: 'u', password: 'p' }]);
  });

  it('refuses a missing image under Never', async () => {
    const t = setup();
    await assert.rejects(t.ensure(container('registry.rudder.test/absent:1', 'Never')), (e) => e instanceof ImageError && e.reason === 'ErrImageNeverPull' && e.message === 'Container image "registry.rudder.test/absent:1" is not present with pull policy of Never');
  });

  it('fails with ErrImagePull, then backs off with ImagePullBackOff until the delay ends', async () => {
    const t = setup(() => false);
    const c = container('registry.rudder.test/nope:1', 'IfNotPresent');
    await assert.rejects(t.ensure(c), (e) => e instanceof ImageError && e.reason === 'ErrImagePull' && e.message.includes('not found'));
    assert.match(t.events.at(-1)!, /^Warning Failed: Failed to pull image "registry\.rudder\.test\/nope:1": rpc error: code = NotFound/);
    await assert.rejects(t.ensure(c), (e) => e instanceof ImageError && e.reason === 'ImagePullBackOff' && e.message.startsWith('Back-off pulling image "registry.rudder.test/nope:1": ErrImagePull: rpc error'));
    assert.equal(t.events.at(-1), 'Normal BackOff: Back-off pulling image "registry.rudder.test/nope:1"');
    t.advance(10_000);
    await assert.rejects(t.ensure(c), (e) => e instanceof ImageError && e.reason === 'ErrImagePull');
    await assert.rejects(t.ensure(c), (e) => e instanceof ImageError && e.reason === 'ImagePullBackOff');
    t.advance(10_000);
    await assert.rejects(t.ensure(c), (e) => e instanceof ImageError && e.reason === 'ImagePullBackOff', 'the second delay is 20 s');
  });
});
