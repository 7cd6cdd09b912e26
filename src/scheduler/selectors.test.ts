import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelSelectorAsSelector, matchesLabels, NOTHING, EVERYTHING, type LabelSelectorJSON } from '../api/labels.ts';
import { selects } from './selectors.ts';

test('compiled selectors agree with matchesLabels on every operator', () => {
  const raw: LabelSelectorJSON[] = [
    { matchLabels: { a: 'x' } },
    { matchLabels: { a: 'x', b: 'y' } },
    { matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'z'] }] },
    { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] },
    { matchExpressions: [{ key: 'a', operator: 'Exists' }] },
    { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] },
    { matchLabels: { a: 'x', b: 'y' }, matchExpressions: [{ key: 'c', operator: 'Exists' }] },
    { matchLabels: { constructor: 'x' } },
  ];
  const selectors = raw.map((r) => labelSelectorAsSelector(r));
  const labelSets: (Record<string, string> | undefined)[] = [undefined, {}, { a: 'x' }, { a: 'z' }, { a: 'x', b: 'y' }, { a: 'x', b: 'y', c: '' }, { b: 'y' }, { constructor: 'x' }];
  for (const s of [...selectors, NOTHING, EVERYTHING]) {
    for (const l of labelSets) assert.equal(selects(s, l), matchesLabels(s, l), `${JSON.stringify(s)} on ${JSON.stringify(l)}`);
  }
});
