// KubeSchedulerConfiguration decoding and defaulting, and how the framework expands a profile
// into per-extension-point plugin lists (upstream's mergePlugins and expandMultiPointPlugins).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadSchedulerConfig } from './config.ts';
import { Framework } from './framework/framework.ts';
import type { PluginFactory } from './framework/interfaces.ts';
import { inTreeRegistry, mergeRegistries } from './plugins/registry.ts';
import { testEnv } from './testing.ts';

function frameworkOf(yaml: string, extra?: Map<string, PluginFactory>, index = 0): Framework {
  const settings = loadSchedulerConfig(yaml);
  const registry = extra ? mergeRegistries(inTreeRegistry(), extra) : inTreeRegistry();
  return new Framework(settings.profiles[index]!, registry, testEnv([]).handle);
}

const names = (xs: readonly { name: string }[]) => xs.map((x) => x.name);
const header = 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n';

describe('KubeSchedulerConfiguration', () => {
  test('an empty configuration is the default-scheduler profile with upstream defaults', () => {
    const s = loadSchedulerConfig(header);
    assert.equal(s.profiles.length, 1);
    assert.equal(s.profiles[0]!.schedulerName, 'default-scheduler');
    assert.equal(s.percentageOfNodesToScore, 0);
    assert.equal(s.podInitialBackoffMs, 1000);
    assert.equal(s.podMaxBackoffMs, 10000);
    assert.deepEqual(s.leaderElection, { leaderElect: true, leaseDurationMs: 15000, renewDeadlineMs: 10000, retryPeriodMs: 2000, resourceName: 'kube-scheduler', resourceNamespace: 'kube-system' });
    const args = s.profiles[0]!.pluginConfig;
    assert.deepEqual(args.get('NodeResourcesFit'), { scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] } });
    assert.deepEqual(args.get('DefaultPreemption'), { minCandidateNodesPercentage: 10, minCandidateNodesAbsolute: 100 });
    assert.deepEqual(args.get('PodTopologySpread'), { defaultingType: 'System' });
    assert.deepEqual(args.get('InterPodAffinity'), { hardPodAffinityWeight: 1, ignorePreferredTermsOfExistingPods: false });
    assert.deepEqual(args.get('VolumeBinding'), { bindTimeoutSeconds: 600 });
  });

  test('the default plugins run at each extension point in upstream order, with upstream weights', () => {
    const fw = frameworkOf(header);
    assert.deepEqual(names(fw.preEnqueuePlugins), ['SchedulingGates']);
    assert.equal(fw.queueSortPlugin.name, 'PrioritySort');
    assert.deepEqual(names(fw.preFilterPlugins), ['NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'VolumeBinding', 'PodTopologySpread', 'InterPodAffinity']);
    assert.deepEqual(names(fw.filterPlugins), [
      'NodeUnschedulable',
      'NodeName',
      'TaintToleration',
      'NodeAffinity',
      'NodePorts',
      'NodeResourcesFit',
      'VolumeBinding',
      'PodTopologySpread',
      'InterPodAffinity',
    ]);
    assert.deepEqual(names(fw.postFilterPlugins), ['DefaultPreemption']);
    assert.deepEqual(
      fw.scorePlugins.map((s) => [s.plugin.name, s.weight]),
      [
        ['TaintToleration', 3],
        ['NodeAffinity', 2],
        ['NodeResourcesFit', 1],
        ['PodTopologySpread', 2],
        ['InterPodAffinity', 2],
        ['NodeResourcesBalancedAllocation', 1],
        ['ImageLocality', 1],
      ],
    );
    assert.deepEqual(names(fw.reservePlugins), ['VolumeBinding']);
    assert.deepEqual(names(fw.preBindPlugins), ['VolumeBinding']);
    assert.deepEqual(names(fw.bindPlugins), ['DefaultBinder']);
  });

  test('a profile can disable a plugin at one extension point and reweight another', () => {
    const fw = frameworkOf(`${header}profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      disabled:
      - name: ImageLocality
      enabled:
      - name: NodeResourcesFit
        weight: 5
`);
    assert.deepEqual(
      fw.scorePlugins.map((s) => [s.plugin.name, s.weight]),
      [
        ['NodeResourcesFit', 5],
        ['TaintToleration', 3],
        ['NodeAffinity', 2],
        ['PodTopologySpread', 2],
        ['InterPodAffinity', 2],
        ['NodeResourcesBalancedAllocation', 1],
      ],
    );
    assert.ok(names(fw.filterPlugins).includes('NodeResourcesFit'), 'still a filter');
  });

  test('"*" disables every default at an extension point; the listed plugins remain', () => {
    const fw = frameworkOf(`${header}profiles:
- plugins:
    score:
      disabled:
      - name: '*'
      enabled:
      - name: NodeResourcesBalancedAllocation
`);
    assert.deepEqual(names(fw.scorePlugins.map((s) => s.plugin)), ['NodeResourcesBalancedAllocation']);
  });

  test('multiPoint disabled removes a default plugin everywhere', () => {
    const fw = frameworkOf(`${header}profiles:
- plugins:
    multiPoint:
      disabled:
      - name: TaintToleration
`);
    assert.ok(!names(fw.filterPlugins).includes('TaintToleration'));
    assert.ok(!fw.scorePlugins.some((s) => s.plugin.name === 'TaintToleration'));
  });

  test('pluginConfig args reach the plugin (MostAllocated packs nodes)', () => {
    const s = loadSchedulerConfig(`${header}profiles:
- schedulerName: bin-packing
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`);
    assert.deepEqual(s.profiles[0]!.pluginConfig.get('NodeResourcesFit'), { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] } });
  });

  test('several profiles, each with its own schedulerName and percentage', () => {
    const s = loadSchedulerConfig(`${header}percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: fast-scheduler
  percentageOfNodesToScore: 5
`);
    assert.deepEqual(
      s.profiles.map((p) => [p.schedulerName, p.percentageOfNodesToScore]),
      [
        ['default-scheduler', undefined],
        ['fast-scheduler', 5],
      ],
    );
    assert.equal(s.percentageOfNodesToScore, 30);
  });

  test('an out-of-tree plugin enabled at multiPoint joins every point it implements', () => {
    const custom: PluginFactory = () => ({ name: 'Custom', filter: () => null, score: () => 0 }) as never;
    const fw = frameworkOf(
      `${header}profiles:
- plugins:
    multiPoint:
      enabled:
      - name: Custom
        weight: 4
`,
      new Map([['Custom', custom]]),
    );
    assert.equal(names(fw.filterPlugins).at(-1), 'Custom');
    assert.deepEqual(fw.scorePlugins.at(-1) && [fw.scorePlugins.at(-1)!.plugin.name, fw.scorePlugins.at(-1)!.weight], ['Custom', 4]);
  });

  const invalid: [string, string, RegExp][] = [
    ['a wrong apiVersion', 'apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n', /no kind "KubeSchedulerConfiguration" is registered for version "kubescheduler.config.k8s.io\/v1beta3"/],
    ['a percentage over 100', `${header}percentageOfNodesToScore: 120\n`, /percentageOfNodesToScore: Invalid value: 120: not in valid range \[0-100\]/],
    ['a duplicate schedulerName', `${header}profiles:\n- schedulerName: a\n- schedulerName: a\n`, /profiles\[1\]\.schedulerName: Duplicate value: "a"/],
    ['a max backoff below the initial', `${header}podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n`, /podMaxBackoffSeconds/],
    ['an unknown plugins field', `${header}profiles:\n- plugins:\n    scores: {}\n`, /unknown field "scores"/],
  ];
  for (const [name, yaml, re] of invalid) {
    test(`refused: ${name}`, () => {
      assert.throws(() => loadSchedulerConfig(yaml), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message));
    });
  }

  test('refused when building: an unknown plugin, or one enabled where it has no such extension', () => {
    assert.throws(() => frameworkOf(`${header}profiles:\n- plugins:\n    filter:\n      enabled:\n      - name: NoSuchPlugin\n`), /plugin "NoSuchPlugin" does not exist/);
    assert.throws(() => frameworkOf(`${header}profiles:\n- plugins:\n    filter:\n      enabled:\n      - name: ImageLocality\n`), /plugin "ImageLocality" does not extend FilterPlugin plugin/);
    assert.throws(() => frameworkOf(`${header}profiles:\n- plugins:\n    bind:\n      disabled:\n      - name: '*'\n`), /at least one bind plugin is needed for profile/);
  });
});
