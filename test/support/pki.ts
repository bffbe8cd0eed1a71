// Certificates for a throw-away control plane: a CA, the API server's serving certificate, an
// admin client certificate (O=system:masters) and the service-account signing key. EC P-256
// keys via the openssl CLI keep this to a few tens of milliseconds.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  adminCert: string;
  adminKey: string;
  files: { caCert: string; caKey: string; serverCert: string; serverKey: string; saKey: string; saPub: string; adminCert: string; adminKey: string };
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function genKey(dir: string, name: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
}

/** Issues `<name>.crt` signed by the CA, with the given subject and extensions. */
export async function issueCert(dir: string, name: string, subject: string, ext: string): Promise<void> {
  await genKey(dir, `${name}.key`);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  await writeFile(path.join(dir, `${name}.ext`), ext);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

export async function createPki(dir: string, serverIps: string[]): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  await genKey(dir, 'ca.key');
  await openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=listener-operator-test-ca', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt']);
  const sans = [
    ...serverIps.map((ip) => `IP:${ip}`),
    'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local',
  ].join(',');
  await Promise.all([
    issueCert(dir, 'server', '/CN=kube-apiserver',
      `subjectAltName=${sans}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`),
    issueCert(dir, 'admin', '/O=system:masters/CN=admin',
      'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'),
    genKey(dir, 'sa.key').then(() => openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'])),
  ]);
  const f = (n: string): string => path.join(dir, n);
  const [caCert, adminCert, adminKey] = await Promise.all(['ca.crt', 'admin.crt', 'admin.key'].map((n) => readFile(f(n), 'utf8')));
  return {
    caCert: caCert ?? '', adminCert: adminCert ?? '', adminKey: adminKey ?? '',
    files: { caCert: f('ca.crt'), caKey: f('ca.key'), serverCert: f('server.crt'), serverKey: f('server.key'), saKey: f('sa.key'), saPub: f('sa.pub'), adminCert: f('admin.crt'), adminKey: f('admin.key') },
  };
}
