// The meta.k8s.io Table wire shapes and the per-kind printing contract.

/** metav1.TableColumnDefinition; every field is always serialized, as upstream's has no omitempty. */
export interface ColumnDefinition {
  name: string;
  /** OpenAPI type of the cells: 'string', 'integer', 'number', 'boolean', or 'date'. */
  type: string;
  /** 'name' marks the column holding the object's name; otherwise ''. */
  format: string;
  description: string;
  /** 0 for columns kubectl always shows; greater for those it shows only with -o wide. */
  priority: number;
}

/** metav1.TableRowCondition. */
export interface RowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: unknown[];
  conditions?: RowCondition[];
  /** PartialObjectMetadata, the full object, or null, as includeObject asks. */
  object: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** null after the first event of a watch, as upstream sends headers only once. */
  columnDefinitions: ColumnDefinition[] | null;
  rows: TableRow[];
}

/**
 * How one kind prints: its columns, and a pure function from an object (wire JSON, in any served
 * version of the kind) and the current time to one row's cells, in column order.
 */
export interface TableSpec {
  columns: ColumnDefinition[];
  cells(obj: unknown, now: Date): unknown[];
  /** Row conditions, which upstream sets only for finished pods. */
  conditions?(obj: unknown): RowCondition[] | undefined;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';
