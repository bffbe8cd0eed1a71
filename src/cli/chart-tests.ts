// The checks the Helm chart's `helm test` hooks run (templates/tests), shipped in the operator
// image so that they are the same version as the operator they check:
//   node /app/dist/cli/chart-tests.js driver-registered   (env NODE_NAME, DRIVER)
//     the kubelet of the Node this runs on (placed as the node service is) has registered the CSI
//     driver: its CSINode lists it;
//   node /app/dist/cli/chart-tests.js listener-volume <dir>
//     the listener volume mounted at <dir> holds an address and its ports: the kubelet published
//     it, which it can only do once the controller has reconciled the volume's Listener.
// Each prints what it found and exits 0, or names what is missing and exits 1.
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { KubeClient } from '../k8s/client.ts';
import { CSI_NODES, at } from '../k8s/resources.ts';

interface CsiNode { spec: { drivers: { name: string; nodeID: string; topologyKeys?: string[] | null }[] | null } }

/** One look at the Node's CSINode: the driver's entry, or why it is not registered (yet). */
export async function driverRegistration(client: KubeClient, node: string, driver: string, signal?: AbortSignal): Promise<{ registered: string } | { missing: string }> {
  const csiNode = await client.getOptional<CsiNode>(at(CSI_NODES, undefined, node), { signal });
  if (csiNode === undefined) return { missing: `Node ${node} has no CSINode: its kubelet has registered no CSI driver` };
  const entry = csiNode.spec.drivers?.find((d) => d.name === driver);
  if (entry === undefined) return { missing: `Node ${node}: its kubelet has not registered ${driver} (CSINode ${node} lists ${(csiNode.spec.drivers ?? []).map((d) => d.name).join(', ') || 'no driver'})` };
  return { registered: `Node ${node}: ${driver} registered with its kubelet (node ID ${entry.nodeID}, topology keys ${(entry.topologyKeys ?? []).join(', ') || 'none'})` };
}

/** Waits (bounded) until the driver is registered on this Node. */
async function driverRegistered(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string[]> {
  const node = env.NODE_NAME;
  const driver = env.DRIVER;
  if (node === undefined || node === '' || driver === undefined || driver === '') throw new Error('NODE_NAME and DRIVER must be set');
  const client = await KubeClient.fromKubeconfig();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const r = await driverRegistration(client, node, driver, AbortSignal.timeout(Math.max(1000, deadline - Date.now())));
      if ('registered' in r) return [r.registered];
      if (Date.now() >= deadline) throw new Error(`${r.missing}, after ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  } finally {
    client.close();
  }
}

/** The files of a listener volume: its default address and ports. */
export async function listenerVolume(dir: string): Promise<string[]> {
  const target = await readlink(path.join(dir, 'default-address')).catch(() => undefined);
  if (target === undefined) throw new Error(`${dir}/default-address is missing: the volume was not published`);
  const address = (await readFile(path.join(dir, 'default-address', 'address'), 'utf8')).trim();
  const ports = (await readdir(path.join(dir, 'default-address', 'ports'))).sort();
  if (address === '' || ports.length === 0) throw new Error(`${dir}/${target}: no address or no ports`);
  const lines = [`${dir}/default-address -> ${target}`, `address: ${address}`];
  for (const p of ports) lines.push(`port ${p}: ${(await readFile(path.join(dir, 'default-address', 'ports', p), 'utf8')).trim()}`);
  return lines;
}

async function main(argv: string[]): Promise<number> {
  const [check, arg] = argv;
  try {
    const lines = check === 'driver-registered' ? await driverRegistered(process.env, 60_000)
      : check === 'listener-volume' ? await listenerVolume(arg ?? '/listener')
        : undefined;
    if (lines === undefined) {
      process.stderr.write('usage: chart-tests.js driver-registered | listener-volume <dir>\n');
      return 2;
    }
    process.stdout.write(`${lines.join('\n')}\nOK\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

// Not a top-level await: the image runs this as a CommonJS bundle (scripts/build-dist.ts).
if (import.meta.main) void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
