// Demo: a real control plane, the operator as its own process (`listener-operator run
// controller`), the preset ListenerClasses, and a Listener whose Service and addresses appear.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/support/cluster.ts';
import { installCrds } from '../test/support/operator.ts';
import { eventually } from '../test/support/k8s.ts';
import { KubeClient } from '../src/k8s/client.ts';
import { LISTENERS, NAMESPACES, SERVICES, at } from '../src/k8s/resources.ts';

const say = (s: string): void => { console.log(`\n▶ ${s}`); };

const cluster = await startCluster({ log: (l) => { console.log(`  ${l}`); } });
const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
const dir = await mkdtemp(path.join(tmpdir(), 'listener-demo-'));
const operator = spawn(process.execPath, [path.join(import.meta.dirname, '..', 'src', 'main.ts'), 'run', 'controller'], {
  env: { ...process.env, KUBECONFIG: cluster.kubeconfig, CSI_ENDPOINT: path.join(dir, 'csi.sock'), HTTP_ADDRESS: '127.0.0.1:0' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
try {
  say('installing the CRDs (output of `listener-operator crd`)');
  await installCrds(client);
  say('the operator created the preset ListenerClasses:');
  await eventually('preset classes', async () => {
    const list = await client.list<{ metadata: { name: string }; spec: { serviceType: string } }>(at({ group: 'listeners.stackable.tech', version: 'v1alpha1', plural: 'listenerclasses' }, undefined));
    return list.items.length >= 3 ? list.items : undefined;
  }).then((items) => { for (const c of items) console.log(`  ${c.metadata.name}: ${c.spec.serviceType}`); });

  say('creating Listener demo/web (class cluster-internal, port http=8080)');
  await client.create(at(NAMESPACES, undefined), { metadata: { name: 'demo' } });
  await client.create(at(LISTENERS, 'demo'), {
    apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'Listener',
    metadata: { name: 'web', namespace: 'demo' },
    spec: { className: 'cluster-internal', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
  });
  const status = await eventually('Listener status', async () => {
    const l = await client.get<{ status?: { ingressAddresses?: unknown[]; serviceName?: string } }>(at(LISTENERS, 'demo', 'web'));
    return (l.status?.ingressAddresses?.length ?? 0) > 0 ? l.status : undefined;
  });
  const svc = await client.get<{ spec: { type: string; clusterIP: string; selector: Record<string, string> } }>(at(SERVICES, 'demo', status?.serviceName ?? 'web'));
  say(`Service demo/${status?.serviceName ?? ''}: type ${svc.spec.type}, clusterIP ${svc.spec.clusterIP}, selector ${JSON.stringify(svc.spec.selector)}`);
  say('Listener status (where it can be reached):');
  console.log(JSON.stringify(status, null, 2).replace(/^/gm, '  '));
} finally {
  operator.kill('SIGTERM');
  await new Promise((r) => operator.once('exit', r));
  client.close();
  await cluster.stop();
  say('stopped the operator and the control plane');
}
