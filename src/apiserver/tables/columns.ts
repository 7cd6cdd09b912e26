// Column definitions. Names, types, formats and priorities are upstream's (kubectl upper-cases the
// names for its header); the descriptions are our own short ones.

import type { ColumnDefinition } from './types.ts';

export interface ColumnOptions {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  /** 1 for columns shown only with -o wide. */
  priority?: number;
}

export function col(name: string, description: string, o: ColumnOptions = {}): ColumnDefinition {
  return { name, type: o.type ?? 'string', format: o.format ?? '', description, priority: o.priority ?? 0 };
}

export const NAME = col('Name', 'Name of the object, unique within its namespace.', { format: 'name' });
export const AGE = col('Age', 'Time since the object was created.');

export const WIDE = { priority: 1 } as const;
export const CONTAINERS = col('Containers', 'Names of the containers in the pod template.', WIDE);
export const IMAGES = col('Images', 'Images of the containers in the pod template.', WIDE);
export const SELECTOR = col('Selector', 'Label selector for the pods this object manages.', WIDE);
