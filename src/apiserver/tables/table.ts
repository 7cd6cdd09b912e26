// Building the meta.k8s.io Table that answers Accept: application/json;as=Table;v=v1;g=meta.k8s.io,
// for lists, single objects and watch events (upstream's asTable and its watch fixup).

import { badRequest } from '../../api/errors.ts';
import { obj, str } from './format.ts';
import { tableFor } from './registry.ts';
import type { IncludeObject, Table, TableRow, TableSpec } from './types.ts';

export const TABLE_API_VERSION = 'meta.k8s.io/v1';
export type TableApiVersion = 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1';

export interface ListMetaIn {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface BuildOptions {
  /** What each row's object holds; kubectl sends no includeObject, which means Metadata. */
  includeObject?: IncludeObject;
  /** The time ages are computed against. */
  now?: Date;
  /**
   * The list's metadata, for a list. Without it the table takes the resourceVersion of its
   * single object (a get, or a watch event), as upstream does for non-list objects.
   */
  listMeta?: ListMetaIn;
  /** Leave out columnDefinitions (upstream's TableOptions.NoHeaders, set after a watch's first event). */
  noHeaders?: boolean;
  /** The Table's (and PartialObjectMetadata's) apiVersion: the version the client asked for. */
  apiVersion?: TableApiVersion;
  /** The table to print with, when not the resource's own (a subresource's, say). */
  spec?: TableSpec;
}

/**
 * upstream's TableOptions.includeObject query parameter: None, Metadata (the default, also for
 * an empty value) or Object. Anything else is a BadRequest with upstream's message.
 */
export function parseIncludeObject(v: string | null | undefined): IncludeObject {
  if (v === null || v === undefined || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw badRequest(`unrecognized includeObject value: "${v}"`);
}

function rowObject(o: unknown, include: IncludeObject, apiVersion: string): unknown {
  switch (include) {
    case 'None':
      return null;
    case 'Object':
      return o;
    default:
      return { kind: 'PartialObjectMetadata', apiVersion, metadata: obj(obj(o).metadata) };
  }
}

/** One row of the table for an object. */
export function tableRow(spec: TableSpec, o: unknown, now: Date, include: IncludeObject = 'Metadata', apiVersion: string = TABLE_API_VERSION): TableRow {
  const cells = spec.cells(o, now);
  const object = rowObject(o, include, apiVersion);
  const conditions = spec.conditions?.(o);
  // Field order as upstream serializes a row: cells, conditions, object.
  return conditions ? { cells, conditions, object } : { cells, object };
}

/** The Table for the given objects of a resource, rows in the objects' order. */
export function buildTable(group: string, plural: string, objects: readonly unknown[], opts: BuildOptions = {}): Table {
  const spec = opts.spec ?? tableFor(group, plural);
  const now = opts.now ?? new Date();
  const include = opts.includeObject ?? 'Metadata';
  const apiVersion = opts.apiVersion ?? TABLE_API_VERSION;
  const metadata: Table['metadata'] = {};
  if (opts.listMeta) {
    if (opts.listMeta.resourceVersion) metadata.resourceVersion = opts.listMeta.resourceVersion;
    if (opts.listMeta.continue) metadata.continue = opts.listMeta.continue;
    if (typeof opts.listMeta.remainingItemCount === 'number') metadata.remainingItemCount = opts.listMeta.remainingItemCount;
  } else if (objects.length === 1) {
    const rv = str(obj(obj(objects[0]).metadata).resourceVersion);
    if (rv) metadata.resourceVersion = rv;
  }
  return {
    kind: 'Table',
    apiVersion,
    metadata,
    columnDefinitions: opts.noHeaders ? null : spec.columns.map((c) => ({ ...c })),
    rows: objects.map((o) => tableRow(spec, o, now, include, apiVersion)),
  };
}

export interface WatchEventIn {
  type: string;
  object: unknown;
}

/**
 * A converter for one watch stream asked for as Table: each event's object becomes a one-row
 * Table, with columnDefinitions on the first only (upstream sets NoHeaders after the first
 * object it transforms). ERROR events keep their Status object. BOOKMARK events are converted
 * like the rest, as upstream's are, so their row carries the bookmark's metadata.
 */
export function tableWatchConverter(
  group: string,
  plural: string,
  opts: Omit<BuildOptions, 'listMeta' | 'noHeaders'> = {},
): (event: WatchEventIn) => WatchEventIn {
  let headersSent = false;
  return (event) => {
    if (event.type === 'ERROR') return event;
    const table = buildTable(group, plural, [event.object], { ...opts, now: opts.now ?? new Date(), noHeaders: headersSent });
    headersSent = true;
    return { type: event.type, object: table };
  };
}
