// `olm-deployer`: reads the manifest directory, then hands the decisions to src/olm/ and the API
// calls to the client. Nothing is applied unless every file parses, every kind is served, every
// object can be patched, and the API server accepts every object in a dry-run.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { KubeClient } from '../k8s/client.ts';
import { applyAll, dryRun, findDeployer, plan } from '../olm/deployer.ts';
import { describe, duplicates, parseManifestFile, type Manifest, type ManifestProblem } from '../olm/manifests.ts';
import { VERSION } from '../version.ts';
import { Logs, type Logger } from './log.ts';
import type { OlmDeployerConfig } from './olm-config.ts';

/**
 * The files below `dir`, sorted. Names starting with a dot are skipped: a ConfigMap volume keeps
 * its data in `..data/` and `..<timestamp>/` and links each key to it, so following the links
 * and skipping those reads every manifest once, under its key's name. Symbolic links to files are
 * followed; to directories, not.
 */
export async function manifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...await manifestFiles(p));
    else if (e.isFile() || (e.isSymbolicLink() && (await stat(p).catch(() => undefined))?.isFile() === true)) out.push(p);
  }
  return out;
}

/** Every manifest in `dir`, or every problem with them. */
async function readManifests(dir: string): Promise<{ manifests: Manifest[]; problems: ManifestProblem[] }> {
  let files: string[];
  try {
    files = await manifestFiles(dir);
  } catch (e) {
    return { manifests: [], problems: [{ file: dir, reason: `cannot read the manifest directory: ${e instanceof Error ? e.message : String(e)}` }] };
  }
  if (files.length === 0) return { manifests: [], problems: [{ file: dir, reason: 'no manifest files in the directory' }] };
  const manifests: Manifest[] = [];
  const problems: ManifestProblem[] = [];
  for (const f of files) {
    const r = parseManifestFile(f, await readFile(f, 'utf8'));
    manifests.push(...r.manifests);
    problems.push(...r.problems);
  }
  if (problems.length === 0 && manifests.length === 0) problems.push({ file: dir, reason: 'the files hold no Kubernetes object' });
  return { manifests, problems: [...problems, ...duplicates(manifests)] };
}

function refuse(log: Logger, stage: string, problems: ManifestProblem[]): number {
  log.error(`Nothing applied: ${problems.length} problem${problems.length === 1 ? '' : 's'} ${stage}`);
  for (const p of problems) log.error(describe(p));
  return 1;
}

/** Runs the deployer; resolves with the exit code. `until` resolves on SIGTERM/SIGINT. */
export async function runOlmDeployer(cfg: OlmDeployerConfig, until: Promise<string>, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  const log = Logs.console(cfg.console, stderr).for('listener_operator::olm_deployer');
  const abort = new AbortController();
  void until.then((sig) => { abort.abort(new Error(`${sig} received`)); });
  log.info({ version: VERSION, csv: cfg.csv, deployer: cfg.deployer, namespace: cfg.namespace, dir: cfg.dir, keepAlive: cfg.keepAlive }, 'Starting the OLM deployer');
  const { manifests, problems } = await readManifests(cfg.dir);
  if (problems.length > 0) return refuse(log, 'in the manifest files', problems);

  const client = await KubeClient.fromKubeconfig(cfg.kubeconfig);
  try {
    const deployer = await findDeployer(client, cfg, abort.signal);
    const decided = await plan(client, manifests, cfg.namespace, deployer, abort.signal);
    if (decided.problems.length > 0) return refuse(log, 'found before applying', decided.problems);
    const refused = await dryRun(client, decided.planned, abort.signal);
    if (refused.length > 0) return refuse(log, 'in the server-side dry-run', refused);
    await applyAll(client, decided.planned, (p) => { log.info({ file: p.manifest.file }, `Applied ${p.manifest.kind} ${p.manifest.name}`); }, abort.signal);
    log.info({ objects: decided.planned.length }, `Applied ${decided.planned.length} objects from ${cfg.dir}`);
  } catch (e) {
    log.error(`Stopped: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    client.close();
  }
  if (cfg.keepAlive) {
    log.info('Keeping alive until SIGTERM (--keep-alive)');
    // A pending promise alone does not keep Node.js running: a timer does.
    const hold = setInterval(() => undefined, 2 ** 30);
    log.info(`Stopping: ${await until}`);
    clearInterval(hold);
  }
  return 0;
}
