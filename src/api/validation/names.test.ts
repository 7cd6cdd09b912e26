import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isDNS1123Subdomain, isDNS1123Label, isDNS1035Label, isQualifiedName, isValidLabelValue, isCIdentifier,
  isValidPortName, isConfigMapKey, isRelaxedEnvVarName, isEnvVarName, nameIsDNSSubdomain, validatePathSegmentName,
  isIP, isCIDR, isValidPercent,
} from './names.ts';

test('DNS-1123 subdomain names report upstream wording', () => {
  assert.deepEqual(isDNS1123Subdomain('example.com'), []);
  assert.deepEqual(isDNS1123Subdomain('Bad_Name'), [
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.deepEqual(isDNS1123Subdomain('a'.repeat(254)), ['must be no more than 253 characters']);
});

test('DNS-1123 labels reject dots with a dedicated message', () => {
  assert.deepEqual(isDNS1123Label('my-name'), []);
  assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
  assert.deepEqual(isDNS1123Label('-a'), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
});

test('DNS-1035 labels must start with a letter', () => {
  assert.deepEqual(isDNS1035Label('abc-123'), []);
  assert.deepEqual(isDNS1035Label('1abc'), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
});

test('qualified names check prefix and name parts', () => {
  assert.deepEqual(isQualifiedName('example.com/MyName'), []);
  assert.deepEqual(isQualifiedName('/x'), ['prefix part must be non-empty']);
  assert.deepEqual(isQualifiedName('a/b/c'), [
    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
  ]);
  assert.equal(isQualifiedName('x/').length, 2); // empty name part, and the regex
  assert.deepEqual(isQualifiedName('x'.repeat(64)), [
    'name part must be no more than 63 characters',
  ]);
});

test('label values, C identifiers, port names, config keys, env names, percents', () => {
  assert.deepEqual(isValidLabelValue(''), []);
  assert.equal(isValidLabelValue('-x').length, 1);
  assert.deepEqual(isCIdentifier('MY_NAME'), []);
  assert.equal(isCIdentifier('1x').length, 1);
  assert.deepEqual(isValidPortName('http'), []);
  assert.deepEqual(isValidPortName('8080'), ['must contain at least one letter (a-z)']);
  assert.deepEqual(isValidPortName('a--b'), ['must not contain consecutive hyphens']);
  assert.deepEqual(isValidPortName('averyveryverylongname'), ['must be no more than 15 characters']);
  assert.deepEqual(isConfigMapKey('..a'), ["must not start with '..'"]);
  assert.match(isConfigMapKey('a b')[0]!, /^a valid config key must consist of alphanumeric characters, '-', '_' or '\.' \(e\.g\. 'key\.name'/);
  assert.deepEqual(isRelaxedEnvVarName('1FOO bar'), []);
  assert.deepEqual(isRelaxedEnvVarName('A=B'), ["a valid environment variable name must consist only of printable ASCII characters other than '='"]);
  assert.equal(isEnvVarName('1FOO').length, 1);
  assert.deepEqual(isValidPercent('25%'), []);
});

test('generateName prefixes may end with a dash', () => {
  assert.deepEqual(nameIsDNSSubdomain('web-', true), []);
  assert.equal(nameIsDNSSubdomain('web-', false).length, 1);
  assert.deepEqual(validatePathSegmentName('..', false), ["may not be '..'"]);
  assert.deepEqual(validatePathSegmentName('a/b%', false), ["may not contain '/'", "may not contain '%'"]);
});

test('IP addresses and CIDRs', () => {
  for (const ip of ['10.0.0.1', '010.001.002.003', '::1', '2001:db8::ffff', '::ffff:1.2.3.4', 'fe80::1']) assert.ok(isIP(ip), ip);
  for (const ip of ['10.0.0', '256.1.1.1', 'x', '1::2::3', '10.0.0.1/24']) assert.ok(!isIP(ip), ip);
  assert.ok(isCIDR('10.0.0.0/8'));
  assert.ok(!isCIDR('10.0.0.0/33'));
});
