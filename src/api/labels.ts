// Label selectors, as upstream's k8s.io/apimachinery/pkg/labels: the string syntax every list
// and watch takes (`labelSelector=`), matching, printing, and metav1.LabelSelector
// (matchLabels/matchExpressions) turned into a selector.
//
// Syntax (comma-separated requirements, all of which must hold):
//   a=b  a==b  a!=b          equality (a!=b also matches objects without the label a)
//   a in (x,y)  a notin (x)  set membership (notin also matches objects without a)
//   a   !a                   the label exists / does not exist
//   a>1  a<1                 integer comparison (upstream's Gt/Lt)
//
// Errors carry upstream's exact wording, e.g.
//   unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt
// The apiserver answers a bad selector with a 400 BadRequest whose message is the error's.

import { badRequest, fieldErrorString, field, goStringSlice, type FieldError } from './errors.ts';
import { isQualifiedName, isValidLabelValue } from './validation/names.ts';

export type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  /** As given (parsing yields them sorted and de-duplicated, as upstream's string sets). */
  readonly values: readonly string[];
}

/**
 * A parsed selector: all requirements must match, sorted by key. `nothing` is upstream's
 * labels.Nothing() (what a null metav1.LabelSelector means): it matches no object.
 */
export interface Selector {
  readonly requirements: readonly Requirement[];
  readonly nothing?: boolean;
}

/** A selector syntax or validation failure; `message` is upstream's error text. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

export const EVERYTHING: Selector = Object.freeze({ requirements: Object.freeze([]) as readonly Requirement[] });
export const NOTHING: Selector = Object.freeze({ requirements: Object.freeze([]) as readonly Requirement[], nothing: true });

const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const ALL_OPERATORS = [...BINARY_OPERATORS, 'exists', '!'];

// ---------------------------------------------------------------------------------------------
// Requirements

/** Go's aggregate of field errors: one message as is, several as "[a, b]", duplicates dropped. */
function aggregate(errs: FieldError[]): string {
  const msgs = [...new Set(errs.map(fieldErrorString))];
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

function keyError(key: string, path: string): FieldError | undefined {
  const errs = isQualifiedName(key);
  return errs.length ? field.invalid(path, key, errs.join('; ')) : undefined;
}

/**
 * upstream's labels.NewRequirement: validates key, operator arity and values. `path` prefixes
 * the field paths in messages (upstream's parser passes none, so paths read "key", "values[0]").
 */
export function newRequirement(key: string, operator: string, values: readonly string[], path = ''): Requirement {
  const child = (c: string) => (path ? `${path}.${c}` : c);
  const errs: FieldError[] = [];
  const ke = keyError(key, child('key'));
  if (ke) errs.push(ke);
  const valuesPath = child('values');
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(field.invalid(valuesPath, goStringSlice(values), "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(field.invalid(valuesPath, goStringSlice(values), 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(field.invalid(valuesPath, goStringSlice(values), 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(field.invalid(valuesPath, goStringSlice(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseGoInt64(v) === undefined) errs.push(field.invalid(`${valuesPath}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(field.notSupported(child('operator'), operator, ALL_OPERATORS));
  }
  values.forEach((v, i) => {
    const ve = isValidLabelValue(v);
    if (ve.length) errs.push(field.invalid(`${valuesPath}[${i}][${key}]`, v, ve.join('; ')));
  });
  if (errs.length) throw new SelectorError(aggregate(errs));
  return { key, operator: operator as Operator, values: [...values] };
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64. */
function parseGoInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

export type Labels = Readonly<Record<string, string>> | undefined | null;

export function requirementMatches(r: Requirement, labels: Labels): boolean {
  const l = labels ?? {};
  const has = Object.hasOwn(l, r.key);
  const value = has ? l[r.key]! : '';
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const lv = parseGoInt64(value);
      const rv = parseGoInt64(r.values[0]!);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

function sortedCopy(xs: readonly string[]): string[] {
  return [...xs].sort();
}

/** upstream's Requirement.String(): "a=b", "a in (x,y)", "!a", "a>1". */
export function requirementString(r: Requirement): string {
  const values = r.values.length === 1 ? r.values[0]! : sortedCopy(r.values).join(',');
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
      return `${r.key} in (${values})`;
    case 'notin':
      return `${r.key} notin (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Selectors

function selectorOf(reqs: Requirement[]): Selector {
  // Array.prototype.sort is stable: equal keys keep their order, as upstream's small sorts do.
  return { requirements: reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
}

export function matchesLabels(sel: Selector, labels: Labels): boolean {
  if (sel.nothing) return false;
  return sel.requirements.every((r) => requirementMatches(r, labels));
}

/** Selects everything (and is not "nothing"). */
export function isEmptySelector(sel: Selector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

/** upstream's Selector.String(): requirements joined by ",", "" for everything and nothing. */
export function selectorString(sel: Selector): string {
  return sel.requirements.map(requirementString).join(',');
}

/**
 * The value a selector pins the label to (a=b, a==b, or a in (b) with one value), if any:
 * upstream's RequiresExactMatch, which list indexes use.
 */
export function requiresExactMatch(sel: Selector, key: string): string | undefined {
  const r = sel.requirements.find((x) => x.key === key);
  if (!r) return undefined;
  if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
  return undefined;
}

/** A selector requiring exactly these labels (upstream's SelectorFromSet); values are not validated. */
export function selectorFromSet(set: Readonly<Record<string, string>> | undefined | null): Selector {
  return selectorOf(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as Operator, values: [v] })));
}

/** Like selectorFromSet, but validates keys and values (upstream's ValidatedSelectorFromSet). */
export function validatedSelectorFromSet(set: Readonly<Record<string, string>> | undefined | null): Selector {
  return selectorOf(Object.entries(set ?? {}).map(([key, v]) => newRequirement(key, '=', [v])));
}

export interface LabelSelectorRequirementJSON {
  key?: string;
  operator?: string;
  values?: string[] | null;
}

export interface LabelSelectorJSON {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirementJSON[] | null;
}

const META_OPERATORS: Record<string, Operator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelector -> selector, as upstream's LabelSelectorAsSelector: null selects nothing,
 * an empty selector selects everything. Throws SelectorError with upstream's wording
 * (`"Foo" is not a valid label selector operator`, requirement validation errors).
 */
export function labelSelectorAsSelector(ls: LabelSelectorJSON | null | undefined): Selector {
  if (ls == null) return NOTHING;
  const labels = Object.entries(ls.matchLabels ?? {});
  const exprs = ls.matchExpressions ?? [];
  if (labels.length + exprs.length === 0) return EVERYTHING;
  const reqs: Requirement[] = [];
  for (const [k, v] of labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) reqs.push(newRequirement(k, '=', [v]));
  for (const e of exprs) {
    const op = META_OPERATORS[e.operator ?? ''];
    if (!op) throw new SelectorError(`${JSON.stringify(e.operator ?? '')} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key ?? '', op, e.values ?? []));
  }
  return selectorOf(reqs);
}

/** upstream's FormatLabelSelector (kubectl's column text): "<none>" when empty, "<error>" when invalid. */
export function formatLabelSelector(ls: LabelSelectorJSON | null | undefined): string {
  try {
    return selectorString(labelSelectorAsSelector(ls)) || '<none>';
  } catch {
    return '<error>';
  }
}

// ---------------------------------------------------------------------------------------------
// The parser: upstream's lexer and recursive-descent grammar, token for token, so that error
// messages (which quote the offending token) come out the same.

const Tok = {
  Error: 0,
  EndOfString: 1,
  ClosedPar: 2,
  Comma: 3,
  DoesNotExist: 4,
  DoubleEquals: 5,
  Equals: 6,
  GreaterThan: 7,
  Identifier: 8,
  In: 9,
  LessThan: 10,
  NotEquals: 11,
  NotIn: 12,
  OpenPar: 13,
} as const;
type Token = (typeof Tok)[keyof typeof Tok];

const STRING_TO_TOKEN: Record<string, Token> = {
  ')': Tok.ClosedPar,
  ',': Tok.Comma,
  '!': Tok.DoesNotExist,
  '==': Tok.DoubleEquals,
  '=': Tok.Equals,
  '>': Tok.GreaterThan,
  in: Tok.In,
  '<': Tok.LessThan,
  '!=': Tok.NotEquals,
  notin: Tok.NotIn,
  '(': Tok.OpenPar,
};

interface Item {
  tok: Token;
  lit: string;
}

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ tok: Tok.EndOfString, lit: '' });
      return items;
    }
    if (isSpecial(s[pos]!)) {
      // Longest run of special characters that is still a token.
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos]!)) {
        buf += s[pos];
        const t = STRING_TO_TOKEN[buf];
        if (t !== undefined) {
          last = { tok: t, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: Tok.Error, lit: `error expected: keyword found '${buf}'` });
    } else {
      let buf = '';
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) buf += s[pos++];
      items.push({ tok: STRING_TO_TOKEN[buf] ?? Tok.Identifier, lit: buf });
    }
  }
}

const KEY_AND_OPERATOR = 0;
const VALUES = 1;

class Parser {
  private items: Item[];
  private pos = 0;
  constructor(s: string) {
    this.items = lex(s);
  }

  private adjust(it: Item, ctx: number): Item {
    // In value position the keywords "in" and "notin" are plain identifiers.
    if (ctx === VALUES && (it.tok === Tok.In || it.tok === Tok.NotIn)) return { tok: Tok.Identifier, lit: it.lit };
    return it;
  }
  private lookahead(ctx: number): Item {
    return this.adjust(this.items[this.pos]!, ctx);
  }
  private consume(ctx: number): Item {
    return this.adjust(this.items[this.pos++]!, ctx);
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(VALUES);
      if (tok === Tok.Identifier || tok === Tok.DoesNotExist) {
        let r: Requirement;
        try {
          r = this.parseRequirement();
        } catch (e) {
          throw new SelectorError(`unable to parse requirement: ${(e as Error).message}`);
        }
        reqs.push(r);
        const next = this.consume(VALUES);
        if (next.tok === Tok.EndOfString) return reqs;
        if (next.tok === Tok.Comma) {
          const after = this.lookahead(VALUES);
          if (after.tok !== Tok.Identifier && after.tok !== Tok.DoesNotExist) {
            throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
          }
          continue;
        }
        throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === Tok.EndOfString) return reqs;
      throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private parseRequirement(): Requirement {
    const { key, operator } = this.parseKeyAndInferOperator();
    if (operator === 'exists' || operator === '!') return newRequirement(key, operator, []);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...values].sort());
  }

  private parseKeyAndInferOperator(): { key: string; operator: Operator | '' } {
    let operator: Operator | '' = '';
    let it = this.consume(VALUES);
    if (it.tok === Tok.DoesNotExist) {
      operator = '!';
      it = this.consume(VALUES);
    }
    if (it.tok !== Tok.Identifier) throw new Error(`found '${it.lit}', expected: identifier`);
    const ke = keyError(it.lit, '<nil>');
    if (ke) throw new Error(fieldErrorString(ke));
    const next = this.lookahead(VALUES).tok;
    if ((next === Tok.EndOfString || next === Tok.Comma) && operator !== '!') operator = 'exists';
    return { key: it.lit, operator };
  }

  private parseOperator(): Operator {
    const { tok, lit } = this.consume(KEY_AND_OPERATOR);
    switch (tok) {
      case Tok.In:
        return 'in';
      case Tok.Equals:
        return '=';
      case Tok.DoubleEquals:
        return '==';
      case Tok.GreaterThan:
        return 'gt';
      case Tok.LessThan:
        return 'lt';
      case Tok.NotIn:
        return 'notin';
      case Tok.NotEquals:
        return '!=';
      default:
        throw new Error(`found '${lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume(VALUES);
    if (open.tok !== Tok.OpenPar) throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead(VALUES);
    if (tok === Tok.Identifier || tok === Tok.Comma) {
      const s = this.parseIdentifiersList();
      if (this.consume(VALUES).tok !== Tok.ClosedPar) throw new Error(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === Tok.ClosedPar) {
      this.consume(VALUES);
      return new Set(['']);
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume(VALUES);
      if (tok === Tok.Identifier) {
        s.add(lit);
        const next = this.lookahead(VALUES);
        if (next.tok === Tok.Comma) continue;
        if (next.tok === Tok.ClosedPar) return s;
        throw new Error(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === Tok.Comma) {
        // Empty values: "(,a)", "(a,)" and "(a,,b)" each carry "".
        if (s.size === 0) s.add('');
        const next = this.lookahead(VALUES).tok;
        if (next === Tok.ClosedPar) {
          s.add('');
          return s;
        }
        if (next === Tok.Comma) {
          this.consume(VALUES);
          s.add('');
        }
        continue;
      }
      throw new Error(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead(VALUES).tok;
    if (next === Tok.EndOfString || next === Tok.Comma) return new Set(['']);
    const { tok, lit } = this.consume(VALUES);
    if (tok === Tok.Identifier) return new Set([lit]);
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

/** Parses upstream's label selector syntax. Throws SelectorError with upstream's message. */
export function parseLabelSelector(s: string): Selector {
  return selectorOf(new Parser(s).parse());
}

/** The `labelSelector` of a list or watch: parsed, or a 400 BadRequest with upstream's message. */
export function labelSelectorForList(s: string | undefined): Selector {
  try {
    return parseLabelSelector(s ?? '');
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(e.message);
    throw e;
  }
}
