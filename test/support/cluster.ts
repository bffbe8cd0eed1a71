// A real Kubernetes control plane on loopback (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) built from the pinned Go modules by scripts/build-tools.sh. Used by the
// integration tests, the benchmark and the demo. Every instance lives in its own temporary
// directory on free ports, so two suites can run at once, and every process runs under
// guard.sh, so nothing outlives the launcher even when it is killed.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, readFile, rm, mkdir, open } from 'node:fs/promises';
import { createServer } from 'node:net';
import https from 'node:https';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildTools } from './tools.ts';
import { createPki, type Pki } from './pki.ts';

const run = promisify(execFile);
const GUARD = path.join(import.meta.dirname, 'guard.sh');

export interface ClusterOptions {
  /** Where the component binaries are; default: built (or found warm) by scripts/build-tools.sh. */
  binDir?: string;
  /** Progress lines (start-up steps); default: stderr. */
  log?: (line: string) => void;
  /** Keep the temporary directory after stop (for debugging). */
  keepDir?: boolean;
  /** Run kube-controller-manager (GC, PV binding, EndpointSlices). Default true. */
  controllerManager?: boolean;
  /** Run kube-scheduler. Default true. */
  scheduler?: boolean;
}

export interface Cluster {
  /** Temporary directory holding PKI, kubeconfig, data and logs. */
  dir: string;
  /** Admin kubeconfig (system:masters), self-contained. */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** etcd's client URL, http://127.0.0.1:<port> (tests that compact its history). */
  etcdUrl: string;
  pki: Pki;
  binDir: string;
  /** The API server's /version. */
  version: { gitVersion: string; major: string; minor: string };
  stop(): Promise<void>;
  /** Stops the API server, waits `downMs`, starts it again on the same port (resilience tests). */
  restartApiServer(downMs: number): Promise<void>;
  /** Stops etcd, waits `downMs`, starts it again with the same data (resilience tests). */
  restartEtcd(downMs: number): Promise<void>;
}

interface Component {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

export const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_FIRST_IP = '10.96.0.1';
const READY_TIMEOUT_MS = 90_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => { resolve(port); });
    });
  });
}

const live = new Set<Component>();
// Belt and braces: guard.sh already stops components when this process dies; on a normal exit
// we also kill their process groups synchronously.
process.on('exit', () => {
  for (const c of live) {
    try { if (c.child.pid !== undefined) process.kill(-c.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

async function startComponent(dir: string, name: string, bin: string, args: string[]): Promise<Component> {
  const logFile = path.join(dir, 'logs', `${name}.log`);
  const fh = await open(logFile, 'a');
  const child = spawn(GUARD, [bin, ...args], {
    cwd: dir,
    detached: true, // own process group, so stop() can kill the whole tree
    stdio: ['pipe', fh.fd, fh.fd],
  });
  await fh.close();
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => { resolve(code); });
  });
  const c: Component = { name, child, logFile, exited };
  live.add(c);
  void exited.then(() => live.delete(c));
  return c;
}

async function stopComponent(c: Component): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.stdin?.end(); // guard.sh sees EOF and sends SIGTERM to the component
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout'); }, 10_000).unref());
  if ((await Promise.race([c.exited, timeout])) === 'timeout' && c.child.pid !== undefined) {
    try { process.kill(-c.child.pid, 'SIGKILL'); } catch { /* already gone */ }
    await c.exited;
  }
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface ProbeTarget { url: string; ca?: string; cert?: string; key?: string; insecure?: boolean }

async function probe(t: ProbeTarget): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(t.url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, {
      method: 'GET', timeout: 2000,
      ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: t.insecure !== true,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(c: Component, t: ProbeTarget, ok: (r: { status: number; body: string }) => boolean): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (c.child.exitCode !== null) {
      throw new Error(`${c.name} exited with code ${c.child.exitCode} before it was ready; log ${c.logFile}:\n${await tail(c.logFile)}`);
    }
    try {
      const r = await probe(t);
      if (ok(r)) return r.body;
      last = `HTTP ${r.status}: ${r.body.slice(0, 300)}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${c.name} not ready after ${READY_TIMEOUT_MS / 1000}s (${t.url}: ${last}); log ${c.logFile}:\n${await tail(c.logFile)}`);
}

function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(pki.caCert)}
users:
- name: admin
  user:
    client-certificate-data: ${b64(pki.adminCert)}
    client-key-data: ${b64(pki.adminKey)}
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((l: string) => { process.stderr.write(`[cluster] ${l}\n`); });
  const t0 = Date.now();
  const binDir = opts.binDir ?? process.env.LISTENER_OPERATOR_BIN ?? await buildTools('kubernetes', log);
  const dir = await mkdtemp(path.join(tmpdir(), 'listener-cluster-'));
  await mkdir(path.join(dir, 'logs'));
  const components: Component[] = [];
  const stop = async (): Promise<void> => {
    for (const c of [...components].reverse()) await stopComponent(c);
    if (opts.keepDir !== true) await rm(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, peerPort, apiPort, kcmPort, schedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const pki = await createPki(path.join(dir, 'pki'), ['127.0.0.1', SERVICE_FIRST_IP]);
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = path.join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(server, pki), { mode: 0o600 });
    log(`starting etcd and kube-apiserver in ${dir}`);

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdArgs = [
      '--name=default', `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync', '--log-level=warn',
    ];
    let etcd = await startComponent(dir, 'etcd', path.join(binDir, 'etcd'), etcdArgs);
    components.push(etcd);
    await waitReady(etcd, { url: `${etcdUrl}/health` }, (r) => r.status === 200 && r.body.includes('true'));
    const restartEtcd = async (downMs: number): Promise<void> => {
      await stopComponent(etcd);
      await new Promise((r) => setTimeout(r, downMs));
      const index = components.indexOf(etcd);
      etcd = await startComponent(dir, 'etcd', path.join(binDir, 'etcd'), etcdArgs);
      components.splice(index, 1, etcd);
      await waitReady(etcd, { url: `${etcdUrl}/health` }, (r) => r.status === 200 && r.body.includes('true'));
    };

    const p = pki.files;
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
      // Loopback cannot back the `kubernetes` Service endpoints; nothing here needs them.
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${p.serverCert}`, `--tls-private-key-file=${p.serverKey}`,
      `--client-ca-file=${p.caCert}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${p.saPub}`, `--service-account-signing-key-file=${p.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC', '--allow-privileged=true',
      // The node proxy (kubectl logs, exec, and the operator reading configz for the cluster
      // domain) authenticates to kubelets with the admin certificate, at their InternalIP.
      `--kubelet-client-certificate=${p.adminCert}`, `--kubelet-client-key=${p.adminKey}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      // ConfigMaps bypass the watch cache: a watch from a compacted resourceVersion then gets etcd's
      // 410 Expired at once, so the informer's re-list path can be tested by compacting etcd
      // (nothing the operator watches is a ConfigMap).
      '--watch-cache-sizes=configmaps#0',
      '--v=0',
    ];
    const adminTls = { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };
    let api = await startComponent(dir, 'kube-apiserver', path.join(binDir, 'kube-apiserver'), apiArgs);
    components.push(api);
    await waitReady(api, { url: `${server}/readyz`, ...adminTls }, (r) => r.status === 200);
    const restartApiServer = async (downMs: number): Promise<void> => {
      await stopComponent(api);
      await new Promise((r) => setTimeout(r, downMs));
      api = await startComponent(dir, 'kube-apiserver', path.join(binDir, 'kube-apiserver'), apiArgs);
      components.splice(components.indexOf(components.find((c) => c.name === 'kube-apiserver') ?? api), 1, api);
      await waitReady(api, { url: `${server}/readyz`, ...adminTls }, (r) => r.status === 200);
    };
    const version = JSON.parse(await waitReady(api, { url: `${server}/version`, ...adminTls }, (r) => r.status === 200)) as Cluster['version'];
    log(`kube-apiserver ${version.gitVersion} ready at ${server} (${Date.now() - t0} ms)`);

    const waits: Promise<string>[] = [];
    if (opts.controllerManager !== false) {
      const kcm = await startComponent(dir, 'kube-controller-manager', path.join(binDir, 'kube-controller-manager'), [
        `--kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', `--secure-port=${kcmPort}`,
        `--cert-dir=${path.join(dir, 'kcm-certs')}`, '--leader-elect=false',
        `--service-account-private-key-file=${p.saKey}`, `--root-ca-file=${p.caCert}`,
        `--cluster-signing-cert-file=${p.caCert}`, `--cluster-signing-key-file=${p.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`, '--v=0',
      ]);
      components.push(kcm);
      waits.push(waitReady(kcm, { url: `https://127.0.0.1:${kcmPort}/healthz`, insecure: true }, (r) => r.status === 200));
    }
    if (opts.scheduler !== false) {
      const sched = await startComponent(dir, 'kube-scheduler', path.join(binDir, 'kube-scheduler'), [
        `--kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', `--secure-port=${schedPort}`,
        `--cert-dir=${path.join(dir, 'scheduler-certs')}`, '--leader-elect=false', '--v=0',
      ]);
      components.push(sched);
      waits.push(waitReady(sched, { url: `https://127.0.0.1:${schedPort}/healthz`, insecure: true }, (r) => r.status === 200));
    }
    await Promise.all(waits);
    log(`control plane ready in ${Date.now() - t0} ms; KUBECONFIG=${kubeconfig}`);
    return { dir, kubeconfig, server, etcdUrl, pki, binDir, version, stop, restartApiServer, restartEtcd };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs kubectl (built with the control plane) against a cluster; `input` on its stdin. */
export async function kubectl(cluster: Pick<Cluster, 'binDir' | 'kubeconfig'>, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run(path.join(cluster.binDir, 'kubectl'), [`--kubeconfig=${cluster.kubeconfig}`, ...args]);
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(cluster.binDir, 'kubectl'), [`--kubeconfig=${cluster.kubeconfig}`, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => { if (code === 0) resolve(out); else reject(new Error(`kubectl ${args.join(' ')}: ${err}`)); });
    child.stdin.end(input);
  });
}
