import * as x509 from '@peculiar/x509';

/**
 * A CA and a leaf for a.example, ECDSA P-256, on fixed dates (2030), for unit tests that read
 * certificates (parsing, Secret classification, `inspect secret`). Real X.509 from
 * @peculiar/x509: what the code under test parses is what a CA would give it.
 */
export interface TestChain {
  leafPem: string;
  caPem: string;
  /** The leaf's key (PKCS#8 PEM), and another key that does not match it (the CA's). */
  keyPem: string;
  otherKeyPem: string;
}

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;

export async function testChain(notAfter = new Date('2031-01-01T00:00:00Z')): Promise<TestChain> {
  const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test CA',
    keys: caKeys,
    signingAlgorithm: alg,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2032-01-01T00:00:00Z'),
  });
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0a',
    issuer: ca.subject,
    subject: '',
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    notBefore: new Date('2030-06-01T00:00:00Z'),
    notAfter,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.example' }]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    leafPem: leaf.toString('pem'),
    caPem: ca.toString('pem'),
    keyPem: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)),
    otherKeyPem: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', caKeys.privateKey)),
  };
}
