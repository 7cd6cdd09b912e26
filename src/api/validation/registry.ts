// The table of per-kind defaulting and validation. Each group's module registers its kinds here
// once, at import; src/api/validation/index.ts imports every group module and answers the
// apiserver. This module imports nothing so group modules may load in any order.

import type { FieldError } from '../errors.ts';

// Decoded JSON objects: strategies read and (for defaults) write arbitrary shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface KindStrategy {
  /** Upstream's SetDefaults_* for the served version `version`; mutates `obj` in place. */
  defaults?: (obj: Json, version: string) => void;
  /**
   * The create-time preparation upstream's registry strategy does before validation and that
   * must not run on updates (e.g. a Namespace's `kubernetes` finalizer, a Job's generated
   * selector). Mutates `obj`; needs the server-assigned metadata (uid) already set.
   */
  prepareForCreate?: (obj: Json, version: string) => void;
  /** Validation of a new object (metadata included). */
  validateCreate?: (obj: Json, version: string) => FieldError[];
  /** Validation of a replacement of `old` by `obj` (metadata included). */
  validateUpdate?: (obj: Json, old: Json, version: string) => FieldError[];
  /** Validation of a write to the status subresource. */
  validateStatusUpdate?: (obj: Json, old: Json, version: string) => FieldError[];
}

const strategies = new Map<string, KindStrategy>();

/** Registers a kind under "group/Kind" ("" for the core group: "/Pod"). A later call for the same kind replaces fields it sets. */
export function register(groupKind: string, s: KindStrategy): void {
  strategies.set(groupKind, { ...strategies.get(groupKind), ...s });
}

export function lookup(group: string, kind: string): KindStrategy | undefined {
  return strategies.get(`${group}/${kind}`);
}

export function registeredKinds(): string[] {
  return [...strategies.keys()];
}
