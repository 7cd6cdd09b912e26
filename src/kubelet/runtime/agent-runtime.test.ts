// The agent's runtime composition against a real containerd, inside a network namespace this test
// creates (no route out), as root.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentPaths, importIntoAgent, startAgentRuntime, type AgentRuntime, type AgentRuntimeEvent } from './agent-runtime.ts';
import { RuntimeSetupError } from './containerd.ts';
import { createNetns, mountsUnder, pidsWithArgs, testImageTarballs, TEST_IMAGES } from './testenv.ts';

describe('agent runtime', () => {
  const ns = createNetns();
  const dataDir = mkdtempSync('/tmp/rudder-t-agent-');
  let agent: AgentRuntime | undefined;
  const events: AgentRuntimeEvent[] = [];

  before(() => {
    const [pause, busybox] = testImageTarballs();
    mkdirSync(agentPaths(dataDir).images, { recursive: true });
    copyFileSync(pause, join(agentPaths(dataDir).images, 'pause.tar'));
    copyFileSync(busybox, join(agentPaths(dataDir).images, 'busybox.tar'));
  });
  after(async () => {
    // Whatever the tests left: sandboxes, containerd, shims, mounts, the namespace, the data dir.
    try {
      if (agent?.containerd && (await agent.runtime.version().then(() => true, () => false))) {
        for (const s of await agent.runtime.listPodSandboxes()) await agent.runtime.removePodSandbox(s.id);
      }
      await agent?.stop();
    } finally {
      const socket = join(agentPaths(dataDir).containerd, 'containerd.sock');
      for (const pid of pidsWithArgs('-address', socket)) process.kill(pid, 'SIGKILL');
      for (const mp of mountsUnder(dataDir)) {
        const { execFileSync } = await import('node:child_process');
        execFileSync('umount', ['-l', mp]);
      }
      ns.remove();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('starts its containerd, imports the images directory, and is network-ready once it has a pod CIDR', async () => {
    agent = await startAgentRuntime({ dataDir, netns: ns.path, onEvent: (e) => events.push(e) });
    assert.deepEqual(
      events.filter((e) => e.type === 'imported').map((e) => e.type === 'imported' && [e.file, e.images]),
      [['busybox.tar', [TEST_IMAGES.busybox]], ['pause.tar', [TEST_IMAGES.pause]]],
    );
    const ready = async (): Promise<Record<string, boolean>> => Object.fromEntries((await agent!.runtime.status()).map((c) => [c.type, c.status]));
    assert.deepEqual(await ready(), { RuntimeReady: true, NetworkReady: false });
    assert.equal(agent.setPodCidr('10.244.9.0/24'), true);
    const deadline = Date.now() + 10_000;
    while (!(await ready()).NetworkReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await ready(), { RuntimeReady: true, NetworkReady: true });

    const sc = { metadata: { name: 'p', uid: 'agent-uid', namespace: 'default', attempt: 0 }, hostname: 'p', log_directory: join(agent.paths.podLogs, 'default_p_agent-uid') };
    const sid = await agent.runtime.runPodSandbox(sc);
    assert.match((await agent.runtime.podSandboxStatus(sid)).network!.ip, /^10\.244\.9\.\d+$/);
    await agent.runtime.removePodSandbox(sid);
  });

  it('imports a tarball into the running agent, and says what to do when the agent is down', async () => {
    const [, , testserver] = testImageTarballs();
    assert.deepEqual(await importIntoAgent(dataDir, testserver), [TEST_IMAGES.testserver]);
    assert.ok(await agent!.runtime.imageStatus(TEST_IMAGES.testserver));
    const elsewhere = mkdtempSync('/tmp/rudder-t-none-');
    try {
      await assert.rejects(importIntoAgent(elsewhere, testserver), new RegExp(`^Error: the agent's containerd for ${elsewhere} is not running: start the agent, or copy .* into ${elsewhere}/agent/images/ to import it at the next start$`));
    } finally {
      rmSync(elsewhere, { recursive: true });
    }
  });

  it('refuses to start its own containerd where it cannot run, saying why in one line', async () => {
    await assert.rejects(
      startAgentRuntime({ dataDir: '/tmp/rudder-t-unused', netns: '/run/netns/rudder-t-does-not-exist' }),
      (e) => e instanceof RuntimeSetupError && /^network namespace \/run\/netns\/rudder-t-does-not-exist does not exist/.test(e.message),
    );
  });

  it('runs without containers when simulated', async () => {
    const sim = await startAgentRuntime({ dataDir: '/nonexistent', simulated: { podCidr: '10.99.0.0/24' } });
    assert.equal(sim.runtime.kind, 'simulated');
    assert.ok(await sim.runtime.imageStatus(TEST_IMAGES.pause), 'the sandbox image is there');
    await sim.stop();
  });
});
