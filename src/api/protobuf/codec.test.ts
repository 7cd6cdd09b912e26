import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RESOURCES, groupVersion } from '../resources.ts';
import { decode, decodeWatchEvent, encode, encodeWatchEvent, hasProtobufMessage, ProtobufError } from './codec.ts';
import * as objects from './testdata/objects.ts';

type Json = Record<string, unknown>;

// An independent reader of the protobuf wire format (like `protoc --decode_raw`), used to check
// what the encoder writes against upstream's field numbers without going through the codec.
type RawField = { n: number; wt: number; v: bigint | Uint8Array };
function raw(b: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let i = 0;
  const varint = (): bigint => {
    let r = 0n;
    let s = 0n;
    for (;;) {
      const c = b[i++];
      if (c === undefined) throw new Error('truncated');
      r |= BigInt(c & 0x7f) << s;
      s += 7n;
      if (c < 0x80) return r;
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const wt = tag & 7;
    if (wt === 0) out.push({ n: tag >> 3, wt, v: varint() });
    else if (wt === 2) {
      const len = Number(varint());
      out.push({ n: tag >> 3, wt, v: b.subarray(i, i + len) });
      i += len;
    } else throw new Error(`wire type ${wt}`);
  }
  return out;
}
function field(b: Uint8Array, ...path: number[]): Uint8Array {
  let cur = b;
  for (const n of path) {
    const f = raw(cur).find((x) => x.n === n);
    assert.ok(f, `field ${n} present`);
    cur = f.v as Uint8Array;
  }
  return cur;
}
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
/** The typed message inside a body's envelope. */
const payload = (body: Uint8Array) => field(body.subarray(4), 2);

const roundTrip = (o: Json) => decode(encode(o));

describe('protobuf round trip of realistic objects', () => {
  const cases: [string, Json][] = [
    ['Deployment with a full pod template and intstr maxSurge/maxUnavailable', objects.deployment],
    ['Pod with containers, ports, resources, probes, volumes and status', objects.pod],
    ['ConfigMap with data, binaryData and immutable', objects.configMap],
    ['Secret with binary data and non-ASCII annotations', objects.secret],
    ['Service with named and numeric targetPorts', objects.service],
    ['Node with quantities, times, taints and images', objects.node],
    ['core/v1 Event with MicroTime eventTime', objects.event],
    ['events.k8s.io/v1 Event', objects.eventsV1Event],
    ['Lease with MicroTime acquire and renew times', objects.lease],
    ['SelfSubjectAccessReview', objects.selfSubjectAccessReview],
    ['DeleteOptions with preconditions', objects.deleteOptions],
    ['Status', objects.status],
    ['ConfigMapList with continue and remainingItemCount', objects.configMapList],
    ['PodList', objects.podList],
    ['empty NamespaceList (items null, as Go writes a nil slice)', objects.emptyList],
    ['Job with pod failure policy and status', objects.job],
    ['CronJob', objects.cronJob],
    ['Ingress with inline rule values and resource backends', objects.ingress],
    ['PodDisruptionBudget with a map of times', objects.podDisruptionBudget],
    ['ResourceQuota', objects.resourceQuota],
    ['RoleBinding', objects.roleBinding],
    ['PriorityClass', objects.priorityClass],
    ['TokenRequest', objects.tokenRequest],
  ];
  for (const [name, o] of cases) {
    it(`${name} comes back equal`, () => {
      const d = roundTrip(o);
      assert.equal(d.apiVersion, o.apiVersion);
      assert.equal(d.kind, o.kind);
      assert.deepEqual(d.object, o);
      assert.deepEqual(d.unknownFields, []);
    });
  }

  it('a decoded object re-encodes to the same bytes', () => {
    for (const o of [objects.deployment, objects.pod, objects.node, objects.event]) {
      const b = encode(o);
      assert.deepEqual(encode(decode(b).object), b);
    }
  });
});

describe('protobuf JSON model follows Go JSON encoding', () => {
  it('absent omitempty fields stay absent, non-pointer structs appear empty, zero times are null', () => {
    const d = roundTrip({ kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'd' } }).object;
    assert.deepEqual(d, {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'd', creationTimestamp: null },
      spec: { selector: null, template: { metadata: { creationTimestamp: null }, spec: { containers: null } }, strategy: {} },
      status: {},
    });
  });

  it('pointer fields keep explicit zero values; non-pointer omitempty zeros are dropped', () => {
    const d = roundTrip({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'd', generation: 0, creationTimestamp: null },
      spec: { replicas: 0, paused: false, minReadySeconds: 0, selector: null, template: { metadata: { creationTimestamp: null }, spec: { containers: null } }, strategy: {} },
      status: {},
    }).object as { metadata: Json; spec: Json };
    assert.equal(d.spec.replicas, 0);
    assert.ok(!('paused' in d.spec) && !('minReadySeconds' in d.spec) && !('generation' in d.metadata));
  });

  it('metav1.Time drops sub-second precision and normalizes offsets to UTC', () => {
    const d = roundTrip({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'n', creationTimestamp: '2025-01-02T05:04:05.999+02:00' } });
    assert.equal((d.object.metadata as Json).creationTimestamp, '2025-01-02T03:04:05Z');
  });

  it('MicroTime keeps microseconds and truncates nanoseconds', () => {
    const d = roundTrip({ ...objects.lease, spec: { renewTime: '2025-01-02T03:04:05.1234569Z' } });
    assert.equal((d.object.spec as Json).renewTime, '2025-01-02T03:04:05.123456Z');
  });

  it('times before 1970 and in year 1 survive', () => {
    for (const t of ['1969-07-20T20:17:40Z', '0001-01-01T00:00:01Z', '9999-12-31T23:59:59Z']) {
      const d = roundTrip({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'n', creationTimestamp: t } });
      assert.equal((d.object.metadata as Json).creationTimestamp, t);
    }
  });

  it('int64 values beyond 32 bits and negative values survive', () => {
    const d = roundTrip({ ...objects.deleteOptions, gracePeriodSeconds: -1 });
    assert.equal(d.object.gracePeriodSeconds, -1);
    const n = roundTrip({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'n', generation: 2 ** 50 + 3 } });
    assert.equal((n.object.metadata as Json).generation, 2 ** 50 + 3);
    const p = roundTrip({ kind: 'PriorityClass', apiVersion: 'scheduling.k8s.io/v1', metadata: { name: 'p' }, value: -2147483648 });
    assert.equal(p.object.value, -2147483648);
  });

  it('map keys such as __proto__ stay data', () => {
    const d = roundTrip({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'c' }, data: JSON.parse('{"__proto__":"x","a":"b"}') });
    const data = d.object.data as Json;
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.deepEqual(Object.keys(data).sort(), ['__proto__', 'a']);
  });
});

describe('protobuf wire layout matches upstream field numbers', () => {
  it('the envelope is k8s\\0 + Unknown{typeMeta{apiVersion,kind}, raw, "" , ""}', () => {
    const b = encode(objects.configMap);
    assert.deepEqual([...b.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
    const env = raw(b.subarray(4));
    assert.deepEqual(env.map((f) => f.n), [1, 2, 3, 4]);
    assert.equal(text(field(b.subarray(4), 1, 1)), 'v1');
    assert.equal(text(field(b.subarray(4), 1, 2)), 'ConfigMap');
    assert.equal((env[2].v as Uint8Array).length, 0);
    assert.equal((env[3].v as Uint8Array).length, 0);
  });

  it('IntOrString is {type, intVal, strVal}', () => {
    const ru = field(payload(encode(objects.deployment)), 2, 4, 2); // spec.strategy.rollingUpdate
    const maxUnavailable = raw(field(ru, 1));
    const maxSurge = raw(field(ru, 2));
    assert.deepEqual(maxUnavailable.map((f) => (f.wt === 0 ? f.v : text(f.v as Uint8Array))), [1n, 0n, '25%']);
    assert.deepEqual(maxSurge.map((f) => (f.wt === 0 ? f.v : text(f.v as Uint8Array))), [0n, 1n, '']);
  });

  it('MicroTime is {seconds, nanos} and Quantity maps are entries of {key, {string}}', () => {
    const spec = field(payload(encode(objects.lease)), 2);
    const renew = raw(field(spec, 4));
    assert.deepEqual(renew.map((f) => f.v), [BigInt(Date.UTC(2025, 0, 2, 3, 4, 45) / 1000), 654321000n]);
    const status = field(payload(encode(objects.node)), 3);
    const entries = raw(status).filter((f) => f.n === 1).map((f) => raw(f.v as Uint8Array));
    assert.deepEqual(entries[0].map((f) => text(f.n === 2 ? field(f.v as Uint8Array, 1) : (f.v as Uint8Array))), ['cpu', '4']);
    // Go writes map entries sorted by key
    assert.deepEqual(entries.map((e) => text(e[0].v as Uint8Array)), ['cpu', 'ephemeral-storage', 'hugepages-2Mi', 'memory', 'pods']);
  });

  it('Secret data values are raw bytes and a zero creationTimestamp is an empty message', () => {
    const p = payload(encode({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' }, data: { k: 'AAH/' } }));
    const entry = field(p, 2);
    assert.deepEqual([...field(entry, 2)], [0, 1, 255]);
    assert.equal(field(p, 1, 8).length, 0);
  });
});

describe('every served kind has a protobuf message', () => {
  const table = JSON.parse(readFileSync(new URL('./messages.json', import.meta.url), 'utf8')) as {
    messages: Record<string, { json?: string; fields: [string, number, string, string, string?][] }>;
  };
  // Builds a canonical JSON object with every field set (nested to a bounded depth).
  function value(type: string, i: number, depth: number): unknown {
    switch (type) {
      case 'string':
        return `s${i}`;
      case 'bool':
        return true;
      case 'int32':
        return 7 + i;
      case 'int64':
        return 1234567890123 + i;
      case 'bytes':
        return 'AAH/';
      case 'double':
        return 1.5;
    }
    const m = table.messages[type];
    switch (m.json) {
      case 'time':
        return '2025-01-02T03:04:05Z';
      case 'microtime':
        return '2025-01-02T03:04:05.123456Z';
      case 'duration':
        return '1h2m3.5s';
      case 'quantity':
        return '1500m';
      case 'intorstring':
        return i % 2 ? 'http' : 8080;
      case 'rawjson':
        return { a: [1, 'b', { c: null }] };
      case 'array':
        return ['get', `v${i}`];
    }
    const o: Json = {};
    fill(o, type, depth + 1);
    return o;
  }
  function fill(o: Json, type: string, depth: number): void {
    for (const [json, , t, flags, vt] of table.messages[type].fields) {
      if (flags.includes('i')) {
        fill(o, t, depth);
        continue;
      }
      const isMsg = !vt && table.messages[t] !== undefined;
      const deep = depth > 5 && (flags.includes('p') || flags.includes('r') || flags.includes('m'));
      if (deep) {
        if (!flags.includes('o')) o[json] = null;
        continue;
      }
      if (flags.includes('m')) o[json] = { k1: value(vt!, 1, depth), k0: value(vt!, 2, depth) };
      else if (flags.includes('r')) o[json] = [value(t, 1, depth), value(t, 2, depth)];
      else o[json] = value(t, isMsg ? 0 : 3, depth);
    }
  }

  const seen = new Set<string>();
  for (const r of RESOURCES) {
    for (const v of r.versions) {
      const apiVersion = groupVersion(r.group, v);
      const kinds = [r.kind, ...((r.verbs ?? ['list']).includes('list') ? [`${r.kind}List`] : [])];
      for (const kind of kinds) {
        if (seen.has(`${apiVersion}/${kind}`)) continue;
        seen.add(`${apiVersion}/${kind}`);
        it(`${apiVersion} ${kind} round-trips with every field set`, () => {
          assert.ok(hasProtobufMessage(apiVersion, kind), `${apiVersion} ${kind} has a message`);
          const msgName = Object.entries((JSON.parse(readFileSync(new URL('./messages.json', import.meta.url), 'utf8')) as { kinds: Record<string, Record<string, string>> }).kinds[apiVersion]).find(
            ([k]) => k === kind,
          )![1];
          const o: Json = { kind, apiVersion };
          fill(o, msgName, 0);
          assert.deepEqual(roundTrip(o).object, o);
        });
      }
    }
  }

  it('meta kinds are available under served group versions and meta.k8s.io/v1', () => {
    for (const [gv, kind] of [
      ['apps/v1', 'DeleteOptions'],
      ['v1', 'Status'],
      ['apps/v1', 'Status'],
      ['batch/v1', 'WatchEvent'],
      ['meta.k8s.io/v1', 'PartialObjectMetadataList'],
      ['v1', 'APIResourceList'],
    ]) {
      assert.ok(hasProtobufMessage(gv, kind), `${gv} ${kind}`);
    }
    assert.equal(hasProtobufMessage('meta.k8s.io/v1', 'Table'), false);
    assert.equal(hasProtobufMessage('nope.example.com/v1', 'DeleteOptions'), false);
  });

  it('APIResourceList keeps verbs as a JSON array', () => {
    const o = {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'v1',
      resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'], categories: ['all'] }],
    };
    assert.deepEqual(roundTrip(o).object, o);
  });
});

describe('protobuf watch frames', () => {
  it('a frame is a big-endian length and a WatchEvent whose object carries its own envelope', () => {
    const frame = encodeWatchEvent('ADDED', objects.pod);
    const len = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
    assert.equal(len, frame.length - 4);
    const ev = raw(frame.subarray(4));
    assert.equal(text(ev[0].v as Uint8Array), 'ADDED');
    assert.deepEqual(field(ev[1].v as Uint8Array, 1), encode(objects.pod));
    const back = decodeWatchEvent(frame);
    assert.equal(back.type, 'ADDED');
    assert.deepEqual(back.object, objects.pod);
  });

  it('ERROR events carry a Status', () => {
    const back = decodeWatchEvent(encodeWatchEvent('ERROR', { ...objects.status, code: 410, reason: 'Expired', message: 'too old resource version' }));
    assert.equal(back.type, 'ERROR');
    assert.equal(back.object.kind, 'Status');
    assert.equal(back.object.code, 410);
  });

  it('a WatchEvent envelope decodes with its embedded object (no TypeMeta of its own, as in Go)', () => {
    const frame = encodeWatchEvent('MODIFIED', objects.configMap);
    const w = encode({ kind: 'WatchEvent', apiVersion: 'v1', type: 'MODIFIED', object: objects.configMap });
    const d = decode(w);
    assert.deepEqual(d.object, { type: 'MODIFIED', object: objects.configMap });
    assert.deepEqual(decodeWatchEvent(frame).object, objects.configMap);
  });
});

describe('protobuf decode rejects bad input with 400 errors', () => {
  const isBadRequest = (e: unknown) => e instanceof ProtobufError && e.code === 400 && e.status.reason === 'BadRequest';

  it('wrong magic, empty body and bare magic', () => {
    assert.throws(() => decode(new Uint8Array(0)), (e) => isBadRequest(e) && /empty data/.test((e as Error).message));
    assert.throws(() => decode(Buffer.from('{"kind":"Pod"}')), (e) => isBadRequest(e) && /expected prefix \[107 56 115 0\]/.test((e as Error).message));
    assert.throws(() => decode(Buffer.from('k8s\0')), (e) => isBadRequest(e) && /empty body/.test((e as Error).message));
  });

  it('every truncation of a body throws a 400 unless it ends on an envelope field boundary', () => {
    const b = encode(objects.deployment);
    // ends of the envelope's fields: a cut there is a valid, shorter message
    const boundaries = new Set<number>();
    let at = 4;
    for (const f of raw(b.subarray(4))) {
      const len = (f.v as Uint8Array).length;
      at += 1 + varint(len).length + len;
      boundaries.add(at);
    }
    for (let n = 5; n < b.length; n++) {
      try {
        decode(b.subarray(0, n));
        assert.ok(boundaries.has(n), `prefix ${n} decoded`);
      } catch (e) {
        assert.ok(isBadRequest(e), `prefix ${n}: ${String(e)}`);
      }
    }
  });

  it('random garbage after the magic never escapes as anything but a 400', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = encode(objects.pod);
    for (let i = 0; i < 1500; i++) {
      const b = Uint8Array.from(base);
      const flips = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < flips; j++) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
      try {
        decode(b);
      } catch (e) {
        assert.ok(isBadRequest(e), String(e));
      }
    }
  });

  it('a hostile length is refused without allocating', () => {
    // Unknown.raw with a declared length of 2^32-1
    const b = Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    assert.throws(() => decode(b), (e) => isBadRequest(e) && /unexpected EOF/.test((e as Error).message));
  });

  it('deeply nested embedded objects are refused', () => {
    let inner = encode(objects.configMap);
    for (let i = 0; i < 200; i++) inner = encode({ kind: 'WatchEvent', apiVersion: 'v1', type: 'ADDED', object: inner });
    assert.throws(() => decode(inner), (e) => isBadRequest(e) && /max depth/.test((e as Error).message));
  });

  it('a field with the wrong wire type is refused', () => {
    // ConfigMap.metadata (field 1) sent as a varint
    const p = Uint8Array.from([0x08, 0x01]);
    const body = Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, ...Buffer.from('ConfigMap'), 0x12, p.length, ...p]);
    assert.throws(() => decode(body), (e) => isBadRequest(e) && /wrong wireType = 0 for field metadata/.test((e as Error).message));
  });

  it('an unregistered kind is a 400 naming the kind and version', () => {
    const body = encode(objects.configMap);
    const bad = Buffer.from(body);
    bad.set(Buffer.from('Configmop'), bad.indexOf('ConfigMap'));
    assert.throws(() => decode(bad), (e) => isBadRequest(e) && (e as ProtobufError).kind === 'UnknownKind' && /no kind "Configmop" is registered for version "v1"/.test((e as Error).message));
  });
});

describe('protobuf decode skips and reports unknown fields', () => {
  it('unknown fields are skipped, listed with their JSON path, and known ones still decode', () => {
    const p = payload(encode(objects.configMap));
    // append field 99 (string) to the ConfigMap and field 42 (varint) inside its metadata
    const meta = field(p, 1);
    const meta2 = Uint8Array.from([...meta, 0xd0, 0x02, 0x05]); // field 42, varint 5
    const rest = raw(p).filter((f) => f.n !== 1);
    const parts: number[] = [0x0a, meta2.length, ...meta2];
    for (const f of rest) {
      if (f.wt === 0) parts.push(f.n << 3, ...varint(Number(f.v)));
      else parts.push((f.n << 3) | 2, ...varint((f.v as Uint8Array).length), ...(f.v as Uint8Array));
    }
    parts.push(0x9a, 0x06, 0x01, 0x7a); // field 99, "z"
    const tm = [0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, ...Buffer.from('ConfigMap')];
    const body = Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x0a, tm.length, ...tm, 0x12, ...varint(parts.length), ...parts]);
    const d = decode(body);
    assert.deepEqual(d.object, objects.configMap);
    assert.deepEqual(d.unknownFields.sort(), ['#99', 'metadata.#42']);
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

describe('protobuf decode uses the request path for a missing TypeMeta', () => {
  it('an envelope without typeMeta takes apiVersion and kind from the defaults', () => {
    const p = payload(encode(objects.configMap));
    const body = Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x12, ...varint(p.length), ...p]);
    assert.throws(() => decode(body), (e) => e instanceof ProtobufError && /Object 'Kind' is missing/.test(e.message));
    const d = decode(body, { apiVersion: 'v1', kind: 'ConfigMap' });
    assert.deepEqual(d.object, objects.configMap);
  });
});

describe('protobuf encode errors', () => {
  it('a kind without a protobuf message is 406 NotAcceptable', () => {
    assert.throws(
      () => encode({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', columnDefinitions: [], rows: [] }),
      (e) => e instanceof ProtobufError && e.code === 406 && /cannot be encoded to a protobuf message/.test(e.message),
    );
  });

  it('values of the wrong type are internal errors naming the field', () => {
    assert.throws(
      () => encode({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 5 } }),
      (e) => e instanceof ProtobufError && e.code === 500 && /ObjectMeta\.name: expected a string/.test(e.message),
    );
    assert.throws(() => encode({ kind: 'Deployment', apiVersion: 'apps/v1', spec: { replicas: 2 ** 40 } }), (e) => e instanceof ProtobufError && /overflows int32/.test(e.message));
    assert.throws(() => encode({ kind: 'Secret', apiVersion: 'v1', data: { k: 'not base64!' } }), (e) => e instanceof ProtobufError && /base64/.test(e.message));
  });
});
