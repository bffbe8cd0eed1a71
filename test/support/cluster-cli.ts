// Start and stop the local control plane by hand:
//   npm run cluster -- up     prints the kubeconfig path (kubectl --kubeconfig=<path> get ns)
//   npm run cluster -- down   stops it and removes its directory
//   npm run cluster -- status
// `up` runs the cluster in a detached background process that owns every component.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile, open } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { startCluster } from './cluster.ts';

const stateDir = path.join(process.env.LISTENER_OPERATOR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'listener-operator'), 'cluster');
const stateFile = path.join(stateDir, 'state.json');

interface State { pid: number; kubeconfig: string; dir: string; server: string }

async function readState(): Promise<State | undefined> {
  try {
    const s = JSON.parse(await readFile(stateFile, 'utf8')) as State;
    process.kill(s.pid, 0);
    return s;
  } catch {
    return undefined;
  }
}

async function serve(): Promise<void> {
  const cluster = await startCluster({ log: (l) => { console.error(l); } });
  const state: State = { pid: process.pid, kubeconfig: cluster.kubeconfig, dir: cluster.dir, server: cluster.server };
  await writeFile(stateFile, JSON.stringify(state));
  const shutdown = async (): Promise<void> => {
    await cluster.stop();
    await rm(stateFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => { void shutdown(); });
  process.on('SIGINT', () => { void shutdown(); });
  setInterval(() => undefined, 1 << 30);
}

async function up(): Promise<void> {
  const existing = await readState();
  if (existing !== undefined) {
    console.log(existing.kubeconfig);
    return;
  }
  await mkdir(stateDir, { recursive: true });
  await rm(stateFile, { force: true });
  const logFile = path.join(stateDir, 'cluster.log');
  const fh = await open(logFile, 'w');
  const child = spawn(process.execPath, [import.meta.filename, 'serve'], { detached: true, stdio: ['ignore', fh.fd, fh.fd] });
  child.unref();
  await fh.close();
  console.error(`starting the local control plane (log: ${logFile})`);
  const deadline = Date.now() + 30 * 60_000; // a cold build of the components can take a while
  let shown = 0;
  for (;;) {
    const s = await readState();
    if (s !== undefined) {
      console.error(`control plane up at ${s.server}; stop it with: npm run cluster -- down`);
      console.log(s.kubeconfig);
      return;
    }
    const log = (await readFile(logFile, 'utf8').catch(() => '')).split('\n');
    for (const line of log.slice(shown, -1)) console.error(line);
    shown = Math.max(shown, log.length - 1);
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the control plane did not come up; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function down(): Promise<void> {
  const s = await readState();
  if (s === undefined) {
    console.error('no local control plane is running');
    return;
  }
  process.kill(s.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (await readState() !== undefined) {
    if (Date.now() > deadline) throw new Error(`the control plane (pid ${s.pid}) did not stop within 60 s of SIGTERM`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error('control plane stopped');
}

const cmd = process.argv[2];
switch (cmd) {
  case 'up': await up(); break;
  case 'down': await down(); break;
  case 'serve': await serve(); break;
  case 'status': {
    const s = await readState();
    console.log(s === undefined ? 'down' : `up ${s.server} ${s.kubeconfig}`);
    break;
  }
  default:
    console.error('usage: cluster-cli.ts up|down|status');
    process.exit(2);
}
