import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseCsr, validateKubeletClientCsr, validateKubeletServingCsr } from '../controllers/certificates/x509.ts';
import { newKeyAndRequest } from './certs.ts';

/** What openssl makes of a request: its text form, after checking the signature (-verify). */
function openssl(csrPem: string): string {
  return execFileSync('openssl', ['req', '-noout', '-text', '-verify'], { input: csrPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('certificate requests', () => {
  it("a node client request names the node in the subject, is signed by its key and passes the approver's check", async () => {
    const { keyPem, csrPem } = await newKeyAndRequest({ commonName: 'system:node:worker-1', organizations: ['system:nodes'] });
    const csr = await parseCsr(csrPem);
    assert.equal(csr.commonName, 'system:node:worker-1');
    assert.deepEqual(csr.organizations, ['system:nodes']);
    assert.equal(csr.publicKeyAlgorithm, 'EC');
    assert.equal(await csr.verify(), true);
    assert.deepEqual([csr.dnsNames, csr.ipAddresses], [[], []]);
    assert.equal(validateKubeletClientCsr(csr, ['digital signature', 'client auth']), undefined);
    // The key is the request's: PKCS#8, P-256.
    const key = createPrivateKey(keyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const text = openssl(csrPem);
    assert.match(text, /Subject: O\s?=\s?system:nodes, CN\s?=\s?system:node:worker-1/);
    assert.match(text, /ecdsa-with-SHA256/);
    assert.equal(
      createPublicKey(key).export({ type: 'spki', format: 'pem' }),
      createPublicKey(execFileSync('openssl', ['req', '-noout', '-pubkey'], { input: csrPem, encoding: 'utf8' })).export({ type: 'spki', format: 'pem' }),
    );
  });

  it('a serving request carries its DNS names and IPv4 and IPv6 addresses as subjectAltNames, once each', async () => {
    const { csrPem } = await newKeyAndRequest({
      commonName: 'system:node:worker-1',
      organizations: ['system:nodes'],
      names: ['worker-1', '10.0.0.7', 'fd00::1:7', '::ffff:10.1.2.3', 'worker-1', '2001:db8:0:0:1:0:0:1'],
    });
    const csr = await parseCsr(csrPem);
    assert.equal(await csr.verify(), true);
    assert.deepEqual(csr.dnsNames, ['worker-1']);
    const text = openssl(csrPem);
    assert.match(text, /DNS:worker-1, IP Address:10\.0\.0\.7, IP Address:FD00:0:0:0:0:0:1:7, IP Address:0:0:0:0:0:FFFF:A01:203, IP Address:2001:DB8:0:0:1:0:0:1/);
    assert.equal(validateKubeletServingCsr(csr, ['digital signature', 'server auth']), undefined);
  });

  it('several organizations are all in the subject; names outside ASCII survive as UTF-8', async () => {
    const { csrPem } = await newKeyAndRequest({ commonName: 'bénédicte', organizations: ['a', 'b,c'] });
    const csr = await parseCsr(csrPem);
    assert.equal(csr.commonName, 'bénédicte');
    assert.deepEqual(csr.organizations, ['a', 'b,c']);
    assert.equal(await csr.verify(), true);
  });
});
