// Two-way strategic merge patches for status writes (what upstream's PatchPodStatus and
// PatchNodeStatus send, via CreateTwoWayMergePatch): the fields of the new status, null for fields
// that went away, and for lists merged by a key (conditions by type, podIPs by ip, addresses by
// type) the new items with nulls for their vanished fields, `$patch: delete` for vanished items
// and `$setElementOrder` for the order. Pure.

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Fields of old missing from next become null; nested maps likewise (lists are taken whole). */
function mapPatch(old: Json | undefined, next: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) continue;
    const o = old?.[k];
    if (isObj(v) && isObj(o)) {
      const sub = mapPatch(o, v);
      if (Object.keys(sub).length) out[k] = sub;
    } else if (!same(o, v)) out[k] = v;
  }
  for (const k of Object.keys(old ?? {})) if (!(k in next) || next[k] === undefined) out[k] = null;
  return out;
}

function keyedListPatch(old: Json[] | undefined, next: Json[], key: string): { items: Json[]; order: Json[] } {
  const items: Json[] = [];
  const oldBy = new Map((old ?? []).map((o) => [o[key], o]));
  const nextKeys = new Set(next.map((n) => n[key]));
  for (const n of next) {
    const o = oldBy.get(n[key]);
    if (o && same(o, n)) continue;
    const item = o ? mapPatch(o, n) : { ...n };
    item[key] = n[key];
    items.push(item);
  }
  for (const o of old ?? []) if (!nextKeys.has(o[key])) items.push({ [key]: o[key], $patch: 'delete' });
  return { items, order: next.map((n) => ({ [key]: n[key] })) };
}

/**
 * The patch turning oldStatus into newStatus. keyed: list fields merged by key (conditions: 'type').
 * owned: the top-level fields the writer owns — only those are cleared when absent from newStatus.
 * Answers undefined when nothing changed.
 */
export function statusPatch(oldStatus: Json | undefined, newStatus: Json, keyed: Record<string, string>, owned?: ReadonlySet<string>): Json | undefined {
  const out: Json = {};
  for (const [k, v] of Object.entries(newStatus)) {
    if (v === undefined) continue;
    const o = oldStatus?.[k];
    if (keyed[k] && Array.isArray(v)) {
      const oldList = Array.isArray(o) ? (o as Json[]) : undefined;
      const { items, order } = keyedListPatch(oldList, v as Json[], keyed[k]);
      const orderChanged = !same(order, (oldList ?? []).filter((x) => order.some((y) => y[keyed[k]] === x[keyed[k]])).map((x) => ({ [keyed[k]]: x[keyed[k]] })));
      if (items.length || orderChanged) {
        out[`$setElementOrder/${k}`] = order;
        if (items.length) out[k] = items;
      }
    } else if (isObj(v) && isObj(o)) {
      const sub = mapPatch(o, v);
      if (Object.keys(sub).length) out[k] = sub;
    } else if (!same(o, v)) out[k] = v;
  }
  for (const k of Object.keys(oldStatus ?? {})) {
    if (owned && !owned.has(k)) continue;
    if (!(k in newStatus) || newStatus[k] === undefined) out[k] = null;
  }
  return Object.keys(out).length ? out : undefined;
}
