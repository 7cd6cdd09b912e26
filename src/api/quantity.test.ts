import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseQuantity, canonicalizeQuantity, canonicalString, quantityError, compareQuantities, addQuantities,
  quantityMilliValue, quantityValue, ERR_FORMAT_WRONG, ERR_SUFFIX, ERR_NUMERIC, quantityFromJSON,
} from './quantity.ts';

test('quantities serialize in upstream canonical form', () => {
  const cases: [string | number, string][] = [
    ['1000m', '1'], ['0.5', '500m'], ['1536Mi', '1536Mi'], ['1.5Gi', '1536Mi'], ['1024Mi', '1Gi'],
    ['100Mi', '100Mi'], ['128Mi', '128Mi'], ['1Gi', '1Gi'], ['1e3', '1e3'], ['1E3', '1E3'], ['1000', '1k'],
    ['1500', '1500'], ['1.5', '1500m'], ['0.1', '100m'], ['100m', '100m'], ['250m', '250m'], ['2', '2'],
    ['0', '0'], ['00', '0'], ['0m', '0'], ['+1', '+1'], ['01', '01'], ['1k', '1k'], ['1000k', '1M'],
    ['0.0000000001', '1n'], ['-0.0000000001', '-1n'], ['1n', '1n'], ['1u', '1u'], ['12e6', '12e6'],
    ['0.5Ki', '512'], ['1.5Ki', '1536'], ['512Ki', '512Ki'], ['1023', '1023'], ['5Gi', '5Gi'],
    ['8Gi', '8Gi'], ['1.1', '1100m'], ['10G', '10G'], ['-1Ki', '-1Ki'], ['64Mi', '64Mi'], [1, '1'], [0.5, '500m'],
    ['3e-3', '3e-3'], ['2000e-3', '2'], [' 1 ', '1'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalizeQuantity(input), want, `input ${JSON.stringify(input)}`);
});

test('malformed quantities fail with upstream messages', () => {
  assert.equal(ERR_FORMAT_WRONG, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  const cases: [string, string][] = [
    ['', ERR_FORMAT_WRONG], ['abc', ERR_FORMAT_WRONG], ['1x', ERR_FORMAT_WRONG], ['1Gib', ERR_FORMAT_WRONG],
    ['1Kb', ERR_FORMAT_WRONG], ['1KM', ERR_SUFFIX], ['1ki', ERR_SUFFIX], ['1mm', ERR_SUFFIX], ['1 Gi', ERR_FORMAT_WRONG], ['1.5.5', ERR_FORMAT_WRONG],
    ['.e-10', ERR_NUMERIC],
  ];
  for (const [input, want] of cases) assert.equal(quantityError(input), want, `input ${JSON.stringify(input)}`);
  assert.equal(quantityError('1Gi'), undefined);
});

test('comparison, addition and scaled values follow the exact value', () => {
  assert.equal(compareQuantities(parseQuantity('1Gi'), parseQuantity('1G')), 1);
  assert.equal(compareQuantities(parseQuantity('1000m'), parseQuantity('1')), 0);
  assert.equal(compareQuantities(parseQuantity('100m'), parseQuantity('0.2')), -1);
  assert.equal(canonicalString(addQuantities(parseQuantity('100m'), parseQuantity('900m'))), '1');
  assert.equal(canonicalString(addQuantities(parseQuantity('0'), parseQuantity('1Mi'))), '1Mi');
  assert.equal(quantityMilliValue(parseQuantity('1.5')), 1500n);
  assert.equal(quantityMilliValue(parseQuantity('1n')), 1n); // rounds up
  assert.equal(quantityValue(parseQuantity('1.2')), 2n);
  assert.equal(quantityValue(parseQuantity('-1.2')), -2n);
  assert.equal(quantityValue(parseQuantity('1Ki')), 1024n);
  assert.equal(quantityFromJSON(2).nanos, 2_000_000_000n);
});

test('binary quantities above int64 are capped as upstream', () => {
  assert.equal(canonicalizeQuantity('16Ei'), '9223372036854775807');
});
