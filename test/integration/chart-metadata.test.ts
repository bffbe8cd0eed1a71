// The chart's metadata for people and for Artifact Hub: the README generated from values.yaml is
// current (scripts/chart-readme.ts), and the Artifact Hub annotations of Chart.yaml are true to
// the chart: the license, the images it runs by default, the CRDs the operator installs, and CRD
// examples the real API server accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { chartReadme } from '../../scripts/chart-readme.ts';
import { buildCrds } from '../../src/crd/crds.ts';
import { kubectl } from '../support/cluster.ts';
import { CHART_DIR, renderChart, toolsBin, type Workload } from '../support/helm.ts';
import { freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');

interface Chart { appVersion: string; annotations: Record<string, string> }

async function chart(): Promise<Chart> {
  return parse(await readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Chart;
}

test('the chart README is generated from the current Chart.yaml and values.yaml comments (npm run chart:readme)', async () => {
  const expected = chartReadme(await readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8'), await readFile(path.join(CHART_DIR, 'values.yaml'), 'utf8'));
  const actual = await readFile(path.join(CHART_DIR, 'README.md'), 'utf8');
  assert.equal(actual, expected, 'deploy/helm/listener-operator/README.md is stale: run npm run chart:readme');
  // Every value is in it, described where values.yaml describes it.
  for (const key of ['image.repository', 'kubeletDir', 'preset', 'tests.listenerClass', 'csiNodeDriver.nodeService.securityContext.runAsUser', 'telemetry.consoleLog.level', 'kubernetesClusterDomain']) {
    assert.match(actual, new RegExp(`\\| \`${key.replaceAll('.', '\\.')}\` \\|`), key);
  }
});

test('Artifact Hub annotations: license, category, links, the images the chart runs, the CRDs the operator installs', async () => {
  const c = await chart();
  const a = c.annotations;
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { license: string };
  assert.equal(a['artifacthub.io/license'], pkg.license);
  assert.ok(['networking'].includes(a['artifacthub.io/category'] ?? ''));
  assert.equal(a['artifacthub.io/operator'], 'true');
  assert.ok(['Basic Install', 'Seamless Upgrades', 'Full Lifecycle', 'Deep Insights', 'Auto Pilot'].includes(a['artifacthub.io/operatorCapabilities'] ?? ''));
  const links = parse(a['artifacthub.io/links'] ?? '') as { name: string; url: string }[];
  assert.ok(links.length > 0 && links.every((l) => l.name !== '' && /^https:\/\//.test(l.url)));

  const r = await renderChart({});
  const rendered = ['Deployment', 'DaemonSet'].flatMap((k) => r.workload(k as Workload['kind']).spec.template.spec.containers.map((x) => x.image ?? ''));
  const images = parse(a['artifacthub.io/images'] ?? '') as { name: string; image: string }[];
  assert.deepEqual(images.map((i) => i.image).sort(), [...new Set(rendered)].sort(), 'the images the chart runs with its defaults');

  const crds = parse(a['artifacthub.io/crds'] ?? '') as { kind: string; version: string; name: string; displayName: string; description: string }[];
  const ours = buildCrds() as { metadata: { name: string }; spec: { names: { kind: string }; versions: { name: string; storage: boolean }[] } }[];
  assert.deepEqual(crds.map((x) => [x.name, x.kind, x.version]), ours.map((x) => [x.metadata.name, x.spec.names.kind, x.spec.versions.find((v) => v.storage)?.name]));
  for (const x of crds) assert.ok(x.displayName !== '' && x.description !== '', x.name);
});

test('Artifact Hub CRD examples are accepted by the API server (server-side dry-run)', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installCrds(client);
  const ns = await freshNamespace(t, client, 'chart-meta');
  const examples = parse((await chart()).annotations['artifacthub.io/crdsExamples'] ?? '') as { kind: string }[];
  assert.deepEqual(examples.map((e) => e.kind).sort(), ['Listener', 'ListenerClass']);
  const out = await kubectl({ binDir: toolsBin(), kubeconfig: process.env.KUBECONFIG ?? '' }, ['apply', '--server-side', '--dry-run=server', `--namespace=${ns}`, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: examples }));
  assert.equal(out.trim().split('\n').filter((l) => /serverside-applied \(server dry run\)$/.test(l)).length, 2, out);
});
