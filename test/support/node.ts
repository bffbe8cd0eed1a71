// A real Kubernetes node for the e2e tier, on this machine, joined to a control plane from
// cluster.ts: containerd (Debian's, with its own config, root, state and socket in a temporary
// directory), runc, the CNI bridge/host-local/portmap plugins, kubelet and kube-proxy (iptables
// mode) built from the pinned Kubernetes module. Pods run from locally assembled images
// (images.ts) imported into containerd; nothing is pulled. Pods reach the API server through the
// `kubernetes` Service (a relay on the node IP is its endpoint).
//
// Network (nothing is routed off the machine): the node IP sits on a veth pair we create, the
// pods on a bridge we create, the service CIDR is routed into that veth, NodePorts are opened on
// the node IP only, and a FORWARD guard chain drops pod traffic to anything but the pod network.
//
// One node per machine at a time (kube-proxy's iptables chains are global): a lock directory
// owned by the janitor; a second run waits for it. The janitor is node-teardown.sh waiting on a pipe from this process: it
// tears everything down when stop() closes the pipe, and equally when this process crashes or is
// killed. Components run under guard.sh, like the control plane's.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, SERVICE_CIDR, type Cluster } from './cluster.ts';
import { issueCert } from './pki.ts';
import { buildImages, PAUSE_IMAGE, TEST_IMAGE } from './images.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { NODES, at } from '../../src/k8s/resources.ts';

const run = promisify(execFile);
const GUARD = path.join(import.meta.dirname, 'guard.sh');
const TEARDOWN = path.join(import.meta.dirname, 'node-teardown.sh');

export const NODE_NAME = 'listener-e2e-node';
export const NODE_IP = '10.220.0.10';
export const POD_CIDR = '10.244.0.0/24';
const POD_GATEWAY = '10.244.0.1';
const NODE_VETH = 'le2e-node';
const NODE_VETH_PEER = 'le2e-peer';
const NODE_BRIDGE = 'le2e-cni0';
const GUARD_CHAIN = 'LE2E-FORWARD';
/** The API server relay's port on the node IP (the kubernetes Service's endpoint). */
const API_RELAY_PORT = 6443;
const CNI_NETWORK = 'listener-e2e';
const CGROUP_NAME = 'listener-e2e';
const LOCK_DIR = '/run/listener-e2e-node.lock';
/** How long a run waits for another run's node to finish. */
const LOCK_WAIT_MS = 20 * 60_000;
/** Where teardown copies the node's logs (kubelet, containerd, kube-proxy, operator), replacing the last run's. */
export const E2E_LOGS = path.join(tmpdir(), 'listener-e2e-logs');
/** Sysctls kubelet may change (setupKernelTunables); restored at teardown. */
const KUBELET_SYSCTLS = ['vm.overcommit_memory', 'vm.panic_on_oom', 'kernel.panic', 'kernel.panic_on_oops', 'kernel.keys.root_maxkeys', 'kernel.keys.root_maxbytes'];
const HOST_COMMANDS = ['containerd', 'ctr', 'runc', 'iptables', 'iptables-save', 'ip', 'tar', 'openssl'];
const HOST_FILES = ['/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/portmap', '/usr/lib/cni/loopback', '/usr/bin/catatonit', '/bin/busybox'];
const READY_TIMEOUT_MS = 120_000;

export { PAUSE_IMAGE, TEST_IMAGE };

export interface NodeOptions {
  log?: (line: string) => void;
}

/** A process started under guard.sh, in its own process group, logging to a file. */
interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface TestNode {
  name: string;
  ip: string;
  /** Temporary directory of this node (removed by stop). */
  dir: string;
  /** kubelet --root-dir: the CSI plugin and registration sockets live under it. */
  kubeletDir: string;
  /** containerd's socket (`ctr -a <socket> -n k8s.io ...`). */
  containerdSocket: string;
  logDir: string;
  /** kubelet's podLogsDir: <namespace>_<pod>_<uid>/<container>/<restart>.log */
  podLogsDir: string;
  /** Imports docker-archive or OCI layout tarballs into containerd's k8s.io namespace (for imagePullPolicy IfNotPresent/Never). */
  importImages(archives: string[]): Promise<void>;
  /** The digests of the blobs in containerd's content store (what an OCI import may leave out). */
  contentDigests(): Promise<Set<string>>;
  stop(): Promise<void>;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`, { cause: e });
  }
}

async function tail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function which(cmd: string): boolean {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (d !== '' && existsSync(path.join(d, cmd))) return true;
  }
  return false;
}

/** Fails loudly, with the fix, when the machine cannot host a node. */
async function checkHost(binDir: string): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('the e2e node needs root (network devices, mounts, cgroups)');
  for (const c of HOST_COMMANDS) if (!which(c)) problems.push(`command ${c} not found`);
  for (const f of HOST_FILES) if (!existsSync(f)) problems.push(`${f} not found`);
  for (const b of ['kubelet', 'kube-proxy']) if (!existsSync(path.join(binDir, b))) problems.push(`${b} not in ${binDir} (scripts/build-tools.sh kubernetes builds it)`);
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    try { await sh('modprobe', ['br_netfilter']); } catch { problems.push('br_netfilter is not available (modprobe br_netfilter)'); }
  }
  if (problems.length > 0) {
    throw new Error(`cannot start the e2e node:\n  - ${problems.join('\n  - ')}\nInstall the node packages with: sudo bash scripts/setup-node-deps.sh`);
  }
}

/** The pid in the lock, if that process lives. */
async function lockHeldBy(): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(LOCK_DIR, 'pid'), 'utf8')).trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** A lock whose janitor died (SIGKILLed itself) names the node it did not finish: finish it now. */
async function cleanStaleNode(log: (l: string) => void): Promise<void> {
  let stale: string;
  try {
    stale = (await readFile(path.join(LOCK_DIR, 'dir'), 'utf8')).trim();
  } catch {
    return;
  }
  if (stale !== '' && existsSync(path.join(stale, 'node.env'))) {
    log(`tearing down ${stale}, left by a run whose janitor died`);
    await sh('bash', [TEARDOWN, stale]);
    await rm(`${stale}.teardown.log`, { force: true });
  }
}

/**
 * Takes the machine's e2e node lock (mkdir is atomic), waiting while another run holds it (other
 * developers' test runs share the machine: they queue, bounded by LOCK_WAIT_MS); a lock whose
 * holder died is cleaned up and taken.
 */
async function acquireLock(log: (l: string) => void): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let lastSaid = 0;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(path.join(LOCK_DIR, 'pid'), `${process.pid}\n`); // the janitor's, once it runs
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
    const holder = await lockHeldBy();
    const young = Date.now() - (await stat(LOCK_DIR).catch(() => ({ mtimeMs: 0 }))).mtimeMs < 10_000;
    if (holder === undefined && !young) {
      await cleanStaleNode(log);
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`another e2e node has been running on this machine for over ${LOCK_WAIT_MS / 60_000} minutes (pid ${holder ?? '?'}, lock ${LOCK_DIR}); only one runs at a time, since kube-proxy's iptables chains are global`);
    }
    if (Date.now() - lastSaid > 15_000) {
      log(`waiting for another e2e node on this machine to finish (pid ${holder ?? '?'}, lock ${LOCK_DIR})`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const live = new Set<Proc>();
process.on('exit', () => {
  for (const p of live) {
    try { if (p.child.pid !== undefined) process.kill(-p.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

async function startProc(dir: string, logDir: string, name: string, argv: string[], env?: Record<string, string>): Promise<Proc> {
  const [bin, ...args] = argv;
  if (bin === undefined) throw new Error(`no command for ${name}`);
  const logFile = path.join(logDir, `${name}.log`);
  const fh = await open(logFile, 'a');
  const child = spawn(GUARD, [bin, ...args], {
    cwd: dir, detached: true, stdio: ['pipe', fh.fd, fh.fd],
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  await fh.close();
  if (child.pid !== undefined) await appendFile(path.join(dir, 'pgids'), `${child.pid}\n`);
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
  const p: Proc = {
    name, child, logFile, exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout'); }, 15_000).unref());
      if ((await Promise.race([exited, timeout])) === 'timeout' && child.pid !== undefined) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await exited;
      }
    },
  };
  live.add(p);
  void exited.then(() => live.delete(p));
  return p;
}

async function waitFor<T>(what: string, proc: Proc | undefined, fn: () => Promise<T | undefined>, timeoutMs = READY_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc !== undefined && proc.child.exitCode !== null) {
      throw new Error(`${proc.name} exited with code ${proc.child.exitCode} while waiting for ${what}; log ${proc.logFile}:\n${await tail(proc.logFile)}`);
    }
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const log = proc === undefined ? '' : `; log ${proc.logFile}:\n${await tail(proc.logFile)}`;
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last === '' ? '' : ` (${last})`}${log}`);
}

function kubeconfigFor(cluster: Cluster, user: string, cert: string, key: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "${cluster.server}", certificate-authority: "${cluster.pki.files.caCert}"}
users:
- name: ${user}
  user: {client-certificate: "${cert}", client-key: "${key}"}
contexts:
- name: local
  context: {cluster: local, user: ${user}}
current-context: local
`;
}

function containerdConfig(dir: string): string {
  const c = path.join(dir, 'containerd');
  return `version = 2
root = "${c}/root"
state = "${c}/state"
[grpc]
  address = "${c}/containerd.sock"
[ttrpc]
  address = "${c}/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # No AppArmor in this kernel; and this root lacks CAP_SYS_RESOURCE, so runc must not lower
  # oom_score_adj below containerd's own (sandboxes ask for -998).
  disable_apparmor = true
  restrict_oom_score_adj = true
  # Pod network namespaces under our state dir, so teardown finds them.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${c}/runc"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: CNI_NETWORK,
    plugins: [
      {
        // The default route points at the bridge: Service IPs are translated on the host; anything
        // else stops there (ip_forward is left alone, and the guard chain drops it).
        type: 'bridge', bridge: NODE_BRIDGE, isGateway: true, isDefaultGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR, gateway: POD_GATEWAY }]], dataDir: path.join(dir, 'cni', 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

function kubeletConfig(dir: string, cluster: Cluster, port: number, healthzPort: number): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: /${CGROUP_NAME}
# This host is cgroup v1 (hybrid); kubelet 1.35+ refuses it unless told otherwise.
failCgroupV1: false
failSwapOn: false
address: ${NODE_IP}
port: ${port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${healthzPort}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "${cluster.pki.files.caCert}"}
authorization: {mode: AlwaysAllow}
# As every real cluster sets it: the operator reads it (configz) when KUBERNETES_CLUSTER_DOMAIN is unset.
clusterDomain: cluster.local
# containerd 1.6 does not pin the sandbox image: never garbage-collect images.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 87600h
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
# Pods resolve nothing: no DNS server of this machine leaks into them.
resolvConf: "${path.join(dir, 'resolv.conf')}"
podLogsDir: "${path.join(dir, 'pod-logs')}"
containerRuntimeEndpoint: "unix://${path.join(dir, 'containerd', 'containerd.sock')}"
serializeImagePulls: false
syncFrequency: 10s
`;
}

function kubeProxyConfig(kubeconfig: string, healthzPort: number, metricsPort: number): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "${kubeconfig}"}
mode: iptables
hostnameOverride: ${NODE_NAME}
bindAddress: ${NODE_IP}
clusterCIDR: ${POD_CIDR}
# NodePorts on the node IP only (not on this machine's other addresses).
nodePortAddresses: ["${NODE_IP}/32"]
healthzBindAddress: 127.0.0.1:${healthzPort}
metricsBindAddress: 127.0.0.1:${metricsPort}
# Leave the machine's conntrack table sizes alone.
conntrack: {maxPerCore: 0, min: 0}
iptables: {localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 0s}
`;
}

/** What teardown needs (node.env), and what was there before us (chains, sysctls). */
async function recordBefore(dir: string, binDir: string): Promise<void> {
  // What teardown needs, and what was there before us.
  await writeFile(path.join(dir, 'node.env'), [
    `NODE_VETH=${NODE_VETH}`, `NODE_BRIDGE=${NODE_BRIDGE}`, `CGROUP_NAME=${CGROUP_NAME}`, `CNI_NETWORK=${CNI_NETWORK}`,
    `GUARD_CHAIN=${GUARD_CHAIN}`, `KUBE_PROXY=${path.join(binDir, 'kube-proxy')}`, `LOCK_DIR=${LOCK_DIR}`, `KEEP_LOGS=${E2E_LOGS}`, '',
  ].join('\n'));
  const chains: string[] = [];
  for (const t of ['filter', 'nat', 'mangle', 'raw']) {
    for (const m of (await sh('iptables-save', ['-t', t])).matchAll(/^:(\S+) /gm)) chains.push(`${t} ${m[1] ?? ''}`);
  }
  await writeFile(path.join(dir, 'chains.before'), `${chains.join('\n')}\n`);
  const sysctls: string[] = [];
  for (const k of KUBELET_SYSCTLS) {
    try { sysctls.push(`${k} ${(await readFile(`/proc/sys/${k.replaceAll('.', '/')}`, 'utf8')).trim()}`); } catch { /* absent here */ }
  }
  await writeFile(path.join(dir, 'sysctl.before'), `${sysctls.join('\n')}\n`);
}

/** Devices, routes and the FORWARD guard; the CNI config for the pod bridge. */
async function setupNetwork(dir: string, log: (l: string) => void): Promise<void> {
  // Leftovers of a run whose janitor could not finish (same fixed names): remove them.
  for (const dev of [NODE_VETH, NODE_BRIDGE]) {
    if (existsSync(`/sys/class/net/${dev}`)) {
      log(`removing leftover device ${dev}`);
      await sh('ip', ['link', 'del', dev]);
    }
  }

  log(`network: ${NODE_VETH} ${NODE_IP}, bridge ${NODE_BRIDGE} ${POD_GATEWAY} (${POD_CIDR}), service CIDR ${SERVICE_CIDR} routed into ${NODE_VETH}`);
  await sh('ip', ['link', 'add', NODE_VETH, 'type', 'veth', 'peer', 'name', NODE_VETH_PEER]);
  await sh('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', NODE_VETH]);
  await sh('ip', ['link', 'set', NODE_VETH, 'up']);
  await sh('ip', ['link', 'set', NODE_VETH_PEER, 'up']);
  await sh('ip', ['route', 'add', SERVICE_CIDR, 'dev', NODE_VETH]);
  await sh('ip', ['link', 'add', NODE_BRIDGE, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${POD_GATEWAY}/24`, 'dev', NODE_BRIDGE]);
  await sh('ip', ['link', 'set', NODE_BRIDGE, 'up']);
  await sh('iptables', ['-N', GUARD_CHAIN]);
  await sh('iptables', ['-A', GUARD_CHAIN, '-s', POD_CIDR, '!', '-d', POD_CIDR, '-j', 'DROP']);
  await sh('iptables', ['-I', 'FORWARD', '1', '-j', GUARD_CHAIN]);
  await writeFile(path.join(dir, 'resolv.conf'), '# the e2e node\'s pods resolve nothing\n');
  await writeFile(path.join(dir, 'cni', 'net.d', '10-listener-e2e.conflist'), cniConfig(dir));
}

/**
 * Pods reach the API server as in any cluster, through the `kubernetes` Service (10.96.0.1:443,
 * which kubelet puts into every container's environment). The API server of cluster.ts listens on
 * loopback only and manages no endpoints for that Service, so: a TCP relay on the node IP (TLS
 * passes through untouched; the serving certificate names 10.96.0.1) and an EndpointSlice for the
 * Service pointing at it; kube-proxy does the rest.
 */
async function exposeApiServer(cluster: Cluster): Promise<{ close(): Promise<void> }> {
  const api = new URL(cluster.server);
  const open = new Set<Socket>();
  const relay = createServer((inbound) => {
    const outbound = connect(Number(api.port), api.hostname);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('close', () => { open.delete(s); });
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => { outbound.destroy(); });
    outbound.on('error', () => { inbound.destroy(); });
  });

  relay.maxConnections = 200; // bounded
  await new Promise<void>((resolve, reject) => {
    relay.once('error', reject);
    relay.listen(API_RELAY_PORT, NODE_IP, () => { resolve(); });
  });
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  try {
    await client.apply({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespace: 'default', name: 'kubernetes' }, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'listener-e2e-node' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
      ports: [{ name: 'https', port: API_RELAY_PORT, protocol: 'TCP' }],
    }, 'listener-e2e-node', true);
  } catch (e) {
    relay.close();
    throw e;
  } finally {
    client.close();
  }
  return {
    // server.close() waits for open connections, and the Pods' watches never end: cut them.
    close: () => new Promise<void>((resolve) => {
      relay.close(() => { resolve(); });
      for (const s of open) s.destroy();
    }),
  };
}

interface NodeStatus { status?: { conditions?: { type: string; status: string; message?: string }[] } }

export async function startNode(cluster: Cluster, opts: NodeOptions = {}): Promise<TestNode> {
  const log = opts.log ?? ((l: string) => { process.stderr.write(`[node] ${l}\n`); });
  const t0 = Date.now();
  await checkHost(cluster.binDir);
  await acquireLock(log);

  const dir = await mkdtemp(path.join(tmpdir(), 'listener-node-'));
  const logDir = path.join(dir, 'logs');
  const kubeletDir = path.join(dir, 'kubelet');
  for (const d of [logDir, kubeletDir, path.join(dir, 'containerd'), path.join(dir, 'cni', 'net.d'), path.join(dir, 'pod-logs')]) await mkdir(d, { recursive: true });

  await recordBefore(dir, cluster.binDir);

  // The janitor first: from here on, whatever happens, the machine is cleaned.
  const teardownLog = `${dir}.teardown.log`;
  const tfh = await open(teardownLog, 'w');
  const janitor = spawn('bash', [TEARDOWN, '--on-eof', dir], { detached: true, stdio: ['pipe', tfh.fd, tfh.fd], env: { ...process.env, TEARDOWN_LOG: teardownLog } });
  await tfh.close();
  const janitorExited = new Promise<void>((resolve) => { janitor.on('exit', () => { resolve(); }); });
  // A stale lock (its janitor is gone) is taken over.
  await writeFile(path.join(LOCK_DIR, 'pid'), `${janitor.pid ?? 0}\n`);
  await writeFile(path.join(LOCK_DIR, 'dir'), `${dir}\n`);

  const procs: Proc[] = [];
  let stopped = false;
  let apiProxy: { close(): Promise<void> } | undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await apiProxy?.close();
    for (const p of [...procs].reverse()) await p.stop();
    janitor.stdin?.end();
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout'); }, 120_000).unref());
    if (await Promise.race([janitorExited, timeout]) === 'timeout') log(`teardown did not finish in 120 s; see ${teardownLog}`);
    if (existsSync(dir)) log(`teardown left ${dir}; its log:\n${await tail(teardownLog, 20)}`);
  };
  const spawnProc = async (name: string, argv: string[], env?: Record<string, string>): Promise<Proc> => {
    const p = await startProc(dir, logDir, name, argv, env);
    procs.push(p);
    return p;
  };

  try {
    await setupNetwork(dir, log);

    log('starting containerd');
    await writeFile(path.join(dir, 'containerd', 'config.toml'), containerdConfig(dir));
    const sock = path.join(dir, 'containerd', 'containerd.sock');
    const containerd = await spawnProc('containerd', ['containerd', '--config', path.join(dir, 'containerd', 'config.toml')]);
    await waitFor('containerd', containerd, async () => (await sh('ctr', ['-a', sock, 'version'])).includes('Server') ? true : undefined);

    const images = await buildImages(path.join(dir, 'images'));
    for (const archive of [images.pause, images.test]) await sh('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'import', archive]);
    log(`imported ${PAUSE_IMAGE} and ${TEST_IMAGE}`);

    const pkiDir = path.dirname(cluster.pki.files.caCert);
    const clientExt = 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';
    await issueCert(pkiDir, 'e2e-kubelet', `/O=system:nodes/CN=system:node:${NODE_NAME}`, clientExt);
    await issueCert(pkiDir, 'e2e-kube-proxy', '/CN=system:kube-proxy', clientExt);
    const kubeletKubeconfig = path.join(dir, 'kubelet.kubeconfig');
    await writeFile(kubeletKubeconfig, kubeconfigFor(cluster, 'kubelet', path.join(pkiDir, 'e2e-kubelet.crt'), path.join(pkiDir, 'e2e-kubelet.key')), { mode: 0o600 });
    const proxyKubeconfig = path.join(dir, 'kube-proxy.kubeconfig');
    await writeFile(proxyKubeconfig, kubeconfigFor(cluster, 'kube-proxy', path.join(pkiDir, 'e2e-kube-proxy.crt'), path.join(pkiDir, 'e2e-kube-proxy.key')), { mode: 0o600 });

    // kubelet's cgroup root, in every v1 hierarchy.
    for (const h of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'hugetlb', 'net_cls', 'net_prio', 'perf_event']) {
      const base = `/sys/fs/cgroup/${h}`;
      if (existsSync(base) && (await stat(base)).isDirectory()) await mkdir(path.join(base, CGROUP_NAME), { recursive: true });
    }

    log('starting kubelet');
    const [kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    await writeFile(path.join(dir, 'kubelet-config.yaml'), kubeletConfig(dir, cluster, kubeletPort, kubeletHealthz));
    const kubelet = await spawnProc('kubelet', [path.join(cluster.binDir, 'kubelet'),
      `--config=${path.join(dir, 'kubelet-config.yaml')}`, `--kubeconfig=${kubeletKubeconfig}`,
      `--root-dir=${kubeletDir}`, `--cert-dir=${path.join(dir, 'kubelet-pki')}`,
      `--node-ip=${NODE_IP}`, `--hostname-override=${NODE_NAME}`, '--v=2',
    ]);
    const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
    try {
      await waitFor(`Node ${NODE_NAME} Ready`, kubelet, async () => {
        const n = await client.getOptional<NodeStatus>(at(NODES, undefined, NODE_NAME));
        const ready = n?.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True') return true;
        throw new Error(ready === undefined ? 'not registered' : `Ready=${ready.status}: ${ready.message ?? ''}`);
      });
    } finally {
      client.close();
    }
    log(`Node ${NODE_NAME} Ready (${Date.now() - t0} ms)`);

    log('starting kube-proxy (iptables)');
    await writeFile(path.join(dir, 'kube-proxy-config.yaml'), kubeProxyConfig(proxyKubeconfig, proxyHealthz, proxyMetrics));
    const proxy = await spawnProc('kube-proxy', [path.join(cluster.binDir, 'kube-proxy'), `--config=${path.join(dir, 'kube-proxy-config.yaml')}`, '--v=2']);
    await waitFor('kube-proxy healthz', proxy, async () => {
      const r = await fetch(`http://127.0.0.1:${proxyHealthz}/healthz`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? true : undefined;
    });
    apiProxy = await exposeApiServer(cluster);
    log(`node ready in ${Date.now() - t0} ms (logs in ${logDir}); Pods reach the API server through the kubernetes Service`);
    const importImages = async (archives: string[]): Promise<void> => {
      for (const a of archives) await sh('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'import', a]);
    };
    const contentDigests = async (): Promise<Set<string>> => new Set((await sh('ctr', ['-a', sock, '-n', 'k8s.io', 'content', 'ls', '-q'])).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('sha256:')));
    return { name: NODE_NAME, ip: NODE_IP, dir, kubeletDir, containerdSocket: sock, logDir, podLogsDir: path.join(dir, 'pod-logs'), importImages, contentDigests, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
