// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for, with upstream's columns.

export { buildTable, parseIncludeObject, tableRow, tableWatchConverter, TABLE_API_VERSION } from './table.ts';
export type { BuildOptions, ListMetaIn, TableApiVersion, WatchEventIn } from './table.ts';
export { defaultTable, tableFor, tableForSubresource } from './registry.ts';
export { humanDuration } from './duration.ts';
export type { ColumnDefinition, IncludeObject, RowCondition, Table, TableRow, TableSpec } from './types.ts';
