// `npm run dev`: a rebuild-on-save loop on the local cluster (Tilt's role, without Docker).
// Brings up the control plane and the real node once and installs the chart (as the e2e tier and
// the demo do), then watches src/: on a change it bundles src/ (scripts/build-dist.ts, no type check:
// the type check runs after the rollout and reports, so it does not delay the new version), assembles the
// operator image from docker/Dockerfile (only the dist/ layer is new; the others are cached) as an
// OCI archive holding only the blobs containerd does not have yet, imports it into the node's
// containerd under a new tag, rolls the operator's Pods with `helm upgrade --reuse-values
// --set-string image.tag=<tag>`, and prints when both Pods run the new image and are Ready, and
// the driver is registered again, with the time from the save and per step.
// Ctrl-C (or SIGTERM) tears everything down.
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { startCluster, type Cluster } from '../test/support/cluster.ts';
import { startNode, type TestNode } from '../test/support/node.ts';
import { startOperator, waitDriverRegistered, waitWorkloadImage, type E2eState, type RunningOperator } from '../test/support/e2e-operator.ts';
import { CHART_DIR, helm } from '../test/support/helm.ts';
import { cacheRoot, e2eImagesDir, layerCacheOf } from '../test/support/images.ts';
import { compileDist, operatorImage } from '../test/support/operator-image.ts';
import { writeOciArchive } from '../test/support/image-archive.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeClient } from '../src/k8s/client.ts';

const ROOT = path.join(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');
const REPOSITORY = 'localhost/listener-operator';
/** Changes arriving within this time are one build. */
const DEBOUNCE_MS = 150;

const stamp = (): string => new Date().toISOString().slice(11, 19);
const say = (l: string): void => { console.log(`[dev ${stamp()}] ${l}`); };
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Whether a change under src/ changes the image (tests and generated-type churn do not). */
const affectsImage = (file: string): boolean => file.endsWith('.ts') && !file.endsWith('.test.ts');

interface Env { cluster: Cluster; node: TestNode; operator: RunningOperator; state: E2eState; client: KubeClient }

class DevLoop {
  private readonly env: Env;
  private readonly work: string;
  private readonly dist: string;
  private generation = 0;
  private building: Promise<void> | undefined;
  private checking = false;
  private stopped = false;
  /** The time of the first save not yet built. */
  private pendingSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(env: Env, work: string) {
    this.env = env;
    this.work = work;
    this.dist = path.join(work, 'dist');
  }

  /** A first build from scratch, so that the first save finds the layers cached. */
  async warm(): Promise<void> {
    const t0 = Date.now();
    await rm(this.dist, { recursive: true, force: true });
    await compileDist(this.dist);
    say(`compiled src/ once (${secs(Date.now() - t0)}); watching src/ for changes`);
  }

  changed(file: string): void {
    if (this.stopped || !affectsImage(file)) return;
    this.pendingSince ??= Date.now();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.next(); }, DEBOUNCE_MS);
  }

  /** No more builds; waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.building;
  }

  private next(): void {
    if (this.building !== undefined || this.pendingSince === undefined || this.stopped) return;
    this.building = this.build().finally(() => {
      this.building = undefined;
      this.next();
    });
  }

  /** The type check, after the rollout (one at a time); reports, never blocks a build. */
  private typecheck(tag: string): void {
    if (this.checking) return;
    this.checking = true;
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    promisify(execFile)(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--noEmit', '--incremental', '--tsBuildInfoFile', path.join(this.work, 'check.tsbuildinfo')], { maxBuffer: 16 << 20 })
      .then(() => { say(`type check of ${tag}: no errors`); }, (e: unknown) => { say(`type check of ${tag}: errors\n${(e as { stdout?: string }).stdout ?? String(e)}`); })
      .finally(() => { this.checking = false; });
  }

  private async build(): Promise<void> {
    if (this.pendingSince === undefined) return;
    const since = this.pendingSince;
    this.pendingSince = undefined;
    const tag = `dev-${++this.generation}`;
    const image = `${REPOSITORY}:${tag}`;
    const steps: string[] = [];
    let t = Date.now();
    const step = (name: string): void => { steps.push(`${name} ${secs(Date.now() - t)}`); t = Date.now(); };
    try {
      say(`change seen: building ${image}`);
      await compileDist(this.dist);
      step('compile');
      const archive = path.join(this.work, `${tag}.tar`);
      const layers = await mkdtemp(path.join(this.work, 'layers-'));
      try {
        const img = await operatorImage(this.dist, layerCacheOf(e2eImagesDir()), layers);
        await writeOciArchive({ name: image, layers: img.layers, config: img.config, out: archive, present: await this.env.node.contentDigests() });
      } finally {
        await rm(layers, { recursive: true, force: true });
      }
      step('image');
      await this.env.node.importImages([archive]);
      await rm(archive, { force: true });
      step('import');
      await this.rollout(tag, image);
      step('rollout');
      say(`${image} Ready: both Pods run it, the driver is registered — ${secs(Date.now() - since)} from the save (${steps.join(', ')})`);
      this.typecheck(tag);
    } catch (e) {
      say(`build ${tag} failed (${secs(Date.now() - since)}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** helm upgrade to the new tag, then wait for both Pods on it and the driver's registration. */
  private async rollout(tag: string, image: string): Promise<void> {
    const { state, client, cluster } = this.env;
    await helm(cluster.kubeconfig, ['upgrade', state.release, CHART_DIR, '--namespace', state.operatorNamespace, '--reuse-values', '--set-string', `image.repository=${REPOSITORY},image.tag=${tag}`]);
    await Promise.all([
      waitWorkloadImage(client, state.operatorNamespace, state.deployment.selector, 'csi-controller-service', image),
      waitWorkloadImage(client, state.operatorNamespace, state.daemonSet.selector, 'csi-node-service', image),
    ]);
    await waitDriverRegistered(client, state.nodeName);
  }
}

/** Resolves on SIGINT or SIGTERM. */
function termination(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => { resolve('SIGINT'); });
    process.once('SIGTERM', () => { resolve('SIGTERM'); });
  });
}

const stopped = termination();
let cluster: Cluster | undefined;
let node: TestNode | undefined;
let operator: RunningOperator | undefined;
let client: KubeClient | undefined;
let watcher: ReturnType<typeof watch> | undefined;
let loop: DevLoop | undefined;
const work = path.join(cacheRoot(), 'dev');
try {
  say('bringing up a control plane, a real node and the operator (deploy/helm/listener-operator); Ctrl-C stops everything');
  const log = (l: string): void => { say(l); };
  cluster = await startCluster({ log });
  node = await startNode(cluster, { log });
  operator = await startOperator(cluster, node, { log });
  const state = JSON.parse(await readFile(operator.stateFile, 'utf8')) as E2eState;
  client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  await mkdir(work, { recursive: true });
  const dev = new DevLoop({ cluster, node, operator, state, client }, work);
  loop = dev;
  await dev.warm();
  watcher = watch(SRC, { recursive: true }, (_event, file) => { if (file !== null) dev.changed(file); });
  say(`ready. kubectl: export KUBECONFIG=${cluster.kubeconfig}; ${path.join(cluster.binDir, 'kubectl')} -n ${state.operatorNamespace} get pods`);
  say('edit a file under src/ to rebuild and roll the operator; Ctrl-C to stop');
  say(`stopping (${await stopped})`);
} catch (e) {
  say(`failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  watcher?.close();
  await loop?.stop();
  client?.close();
  say('tearing everything down');
  await operator?.stop();
  await node?.stop();
  await cluster?.stop();
  say('done');
}
