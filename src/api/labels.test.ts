import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseLabelSelector,
  selectorString,
  matchesLabels,
  labelSelectorAsSelector,
  formatLabelSelector,
  requiresExactMatch,
  selectorFromSet,
  validatedSelectorFromSet,
  isEmptySelector,
  SelectorError,
  NOTHING,
  labelSelectorForList,
} from './labels.ts';
import { isStatusError } from './errors.ts';

const NAME_PART =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyValue', or 'my_value', or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

test('label selectors parse and print back in upstream string form (sorted by key, values sorted)', () => {
  const cases: Array<[string, string]> = [
    ['', ''],
    ['   ', ''],
    ['x=a', 'x=a'],
    ['x==a', 'x==a'],
    ['x!=a', 'x!=a'],
    ['z=c,x=a,y=b', 'x=a,y=b,z=c'],
    ['x in (b,a)', 'x in (a,b)'],
    ['x notin (a)', 'x notin (a)'],
    ['x in (a,a,b)', 'x in (a,b)'],
    ['x', 'x'],
    ['!x', '!x'],
    ['x>1', 'x>1'],
    ['x<10', 'x<10'],
    [' x = a , y in ( b ) ', 'x=a,y in (b)'],
    ['x in ()', 'x in ()'],
    ['x=', 'x='],
    ['x in (a,)', 'x in (,a)'],
    ['in=notin', 'in=notin'],
    ['!legacy,example.com/tier in (web,db)', 'example.com/tier in (db,web),!legacy'],
  ];
  for (const [input, want] of cases) {
    assert.equal(selectorString(parseLabelSelector(input)), want, `input ${JSON.stringify(input)}`);
  }
});

test('label selector syntax errors carry upstream messages', () => {
  const cases: Array<[string, string]> = [
    ['x=a,', "found '', expected: identifier after ','"],
    ['x=a,,y=b', "found ',', expected: identifier after ','"],
    ['x y', "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"],
    ['x!', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
    ['x in a', "unable to parse requirement: found 'a' expected: '('"],
    ['x in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['x in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ['x in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['x in (a,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    ['x=(a)', "unable to parse requirement: found '(', expected: identifier"],
    ['x=a b', "found 'b', expected: ',' or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['!=a', "found '!=', expected: !, identifier, or 'end of string'"],
    ['-x=a', `unable to parse requirement: <nil>: Invalid value: "-x": ${NAME_PART}`],
    ['x=-a', `unable to parse requirement: values[0][x]: Invalid value: "-a": ${LABEL_VALUE}`],
    ['x>a', `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
  ];
  for (const [input, want] of cases) {
    assert.throws(
      () => parseLabelSelector(input),
      (e: unknown) => {
        assert.ok(e instanceof SelectorError);
        assert.equal(e.message, want, `input ${JSON.stringify(input)}`);
        return true;
      },
    );
  }
});

test('label selectors match as upstream: != and notin also match objects without the label', () => {
  const cases: Array<[string, Record<string, string>, boolean]> = [
    ['', {}, true],
    ['x=a', { x: 'a' }, true],
    ['x=a', { x: 'b' }, false],
    ['x=a', {}, false],
    ['x==a', { x: 'a', y: 'b' }, true],
    ['x!=a', {}, true],
    ['x!=a', { x: 'a' }, false],
    ['x in (a,b)', { x: 'b' }, true],
    ['x in (a,b)', { x: 'c' }, false],
    ['x notin (a)', {}, true],
    ['x notin (a)', { x: 'a' }, false],
    ['x', { x: '' }, true],
    ['x', {}, false],
    ['!x', {}, true],
    ['!x', { x: '' }, false],
    ['x>1', { x: '2' }, true],
    ['x>1', { x: '1' }, false],
    ['x<1', { x: '-5' }, true],
    ['x>1', { x: 'a' }, false],
    ['x>1', {}, false],
    ['x=', { x: '' }, true],
    ['x=a,y', { x: 'a' }, false],
    ['x=a,y', { x: 'a', y: 'z' }, true],
  ];
  for (const [sel, labels, want] of cases) {
    assert.equal(matchesLabels(parseLabelSelector(sel), labels), want, `${sel} vs ${JSON.stringify(labels)}`);
  }
});

test('metav1.LabelSelector converts as LabelSelectorAsSelector: null selects nothing, empty everything', () => {
  assert.equal(labelSelectorAsSelector(null), NOTHING);
  assert.equal(matchesLabels(labelSelectorAsSelector(null), {}), false);
  assert.equal(selectorString(labelSelectorAsSelector(null)), '');
  const everything = labelSelectorAsSelector({});
  assert.ok(isEmptySelector(everything));
  assert.equal(matchesLabels(everything, { any: 'thing' }), true);

  const sel = labelSelectorAsSelector({
    matchLabels: { b: '2', a: '1' },
    matchExpressions: [
      { key: 'c', operator: 'In', values: ['y', 'x'] },
      { key: 'd', operator: 'DoesNotExist' },
      { key: 'e', operator: 'Exists' },
      { key: 'f', operator: 'NotIn', values: ['z'] },
    ],
  });
  assert.equal(selectorString(sel), 'a=1,b=2,c in (x,y),!d,e,f notin (z)');
  assert.equal(matchesLabels(sel, { a: '1', b: '2', c: 'x', e: '' }), true);
  assert.equal(matchesLabels(sel, { a: '1', b: '2', c: 'x', e: '', d: 'x' }), false);
  assert.equal(matchesLabels(sel, { a: '1', b: '2', c: 'x', e: '', f: 'z' }), false);
});

test('invalid metav1.LabelSelectors fail with upstream messages', () => {
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Foo', values: [] }] }), {
    message: '"Foo" is not a valid label selector operator',
  });
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
    message: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
  });
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), {
    message: 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
  });
  assert.throws(() => labelSelectorAsSelector({ matchLabels: { '-a': 'x' } }), { message: `key: Invalid value: "-a": ${NAME_PART}` });
  // Two errors aggregate as upstream's "[a, b]".
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: '-a', operator: 'In', values: [] }] }), {
    message: `[key: Invalid value: "-a": ${NAME_PART}, values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty]`,
  });
});

test('formatLabelSelector prints kubectl column text', () => {
  assert.equal(formatLabelSelector({}), '<none>');
  assert.equal(formatLabelSelector({ matchLabels: { app: 'web' } }), 'app=web');
  assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bad' }] }), '<error>');
});

test('exact matches and selectors from label sets', () => {
  assert.equal(requiresExactMatch(parseLabelSelector('a=1,b in (2),c in (3,4),d!=5'), 'a'), '1');
  assert.equal(requiresExactMatch(parseLabelSelector('a=1,b in (2)'), 'b'), '2');
  assert.equal(requiresExactMatch(parseLabelSelector('c in (3,4)'), 'c'), undefined);
  assert.equal(requiresExactMatch(parseLabelSelector('d!=5'), 'd'), undefined);
  const s = selectorFromSet({ tier: 'web', app: 'x' });
  assert.equal(selectorString(s), 'app=x,tier=web');
  assert.equal(matchesLabels(s, { app: 'x', tier: 'web', other: '1' }), true);
  assert.equal(matchesLabels(s, { app: 'x' }), false);
  assert.throws(() => validatedSelectorFromSet({ app: 'bad value' }), SelectorError);
});

test('a bad labelSelector on a list is a 400 BadRequest carrying the parse message', () => {
  assert.equal(selectorString(labelSelectorForList('b=2,a=1')), 'a=1,b=2');
  assert.equal(isEmptySelector(labelSelectorForList(undefined)), true);
  assert.throws(
    () => labelSelectorForList('x in a'),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.reason === 'BadRequest' && e.message === "unable to parse requirement: found 'a' expected: '('",
  );
});
