// The Helm chart (deploy/helm/listener-operator): `helm lint` and `helm template` with the default
// values and with the non-default ones users pass, every rendered object checked field by field,
// and the manifests applied to the real API server (server-side dry-run) so that each object is
// valid for a real cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DRIVER_NAME } from '../../src/constants.ts';
import { NAMESPACES, at } from '../../src/k8s/resources.ts';
import { freshNamespace, testClient } from '../support/k8s.ts';
import {
  CHART_DIR, argOf, container, envOf, kubectlPath, lintChart, renderChart, renderChartError, toolsBin,
  type Container, type K8sObject, type Rendered, type Workload,
} from '../support/helm.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');

interface ValueSet {
  name: string;
  values: Record<string, unknown>;
  release?: string;
  namespace?: string;
}

const MICROK8S_KUBELET = '/var/snap/microk8s/common/var/lib/kubelet';
const toleration = { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' };
const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } };

/** The value sets users pass (upstream's names), each rendered, linted and checked below. */
const VALUE_SETS: ValueSet[] = [
  { name: 'defaults', values: {} },
  { name: 'preset=stable-nodes', values: { preset: 'stable-nodes' } },
  { name: 'preset=none', values: { preset: 'none' } },
  { name: 'custom kubeletDir (MicroK8s)', values: { kubeletDir: MICROK8S_KUBELET } },
  { name: 'kubeletDir with a trailing slash', values: { kubeletDir: '/data/kubelet/' } },
  { name: 'serviceAccount.create=false with a name', values: { serviceAccount: { create: false, name: 'platform-listener-operator' } } },
  { name: 'serviceAccount.name with create=true', values: { serviceAccount: { name: 'my-operator-sa', annotations: { 'example.com/role': 'x' } } } },
  { name: 'fullnameOverride', values: { fullnameOverride: 'lo' } },
  { name: 'nameOverride, release name containing it', values: { nameOverride: 'listeners' }, release: 'platform-listeners' },
  {
    name: 'tolerations, nodeSelector, affinity, priorityClassName, podAnnotations',
    values: {
      csiProvisioner: { tolerations: [toleration], nodeSelector: { 'example.com/pool': 'system' }, affinity, priorityClassName: 'system-cluster-critical', podAnnotations: { 'example.com/a': '1' } },
      csiNodeDriver: { tolerations: [{ operator: 'Exists' }], nodeSelector: { 'kubernetes.io/os': 'linux' }, priorityClassName: 'system-node-critical', podAnnotations: { 'example.com/b': '2' } },
    },
  },
  { name: 'kubernetesClusterDomain', values: { kubernetesClusterDomain: 'example.internal' } },
  { name: 'maintenance.customResourceDefinitions.maintain=false', values: { maintenance: { customResourceDefinitions: { maintain: false } } } },
  { name: 'maintenance.endOfSupportCheck: off; and with mode and interval', values: { maintenance: { endOfSupportCheck: { enabled: false, mode: 'offline', interval: '12h' } } } },
  { name: 'maintenance.endOfSupportCheck mode and interval', values: { maintenance: { endOfSupportCheck: { mode: 'offline', interval: '12h' } } } },
  {
    name: 'telemetry: console level and format, file logs, OTLP exporters',
    values: {
      telemetry: {
        consoleLog: { level: 'info,listener_operator::csi=debug', format: 'json' }, fileLog: { enabled: true, level: 'debug', rotationPeriod: 'daily', maxFiles: 3 },
        otelLogExporter: { enabled: true, level: 'warn', endpoint: 'http://collector:4317' }, otelTraceExporter: { enabled: true, level: 'info', endpoint: 'http://collector:4317' },
      },
    },
  },
  { name: 'telemetry.consoleLog.enabled=false', values: { telemetry: { consoleLog: { enabled: false, level: 'debug' } } } },
  {
    name: 'image.*, sidecar images and resources',
    values: {
      image: { repository: 'registry.example.com/listener-operator', tag: '1.2.3', pullPolicy: 'Always', pullSecrets: [{ name: 'regcred' }] },
      csiProvisioner: {
        controllerService: { resources: { requests: { cpu: '50m', memory: '300Mi' }, limits: { memory: '600Mi' } } },
        externalProvisioner: { image: { repository: 'mirror.example.com/csi-provisioner', tag: 'v6.3.0', pullPolicy: 'Always' } },
      },
      csiNodeDriver: { nodeDriverRegistrar: { image: { repository: 'mirror.example.com/csi-node-driver-registrar', tag: 'v2.15.0' } } },
    },
  },
  {
    name: 'podSecurityContext and securityContext overrides',
    values: { csiProvisioner: { podSecurityContext: { runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000 } }, csiNodeDriver: { nodeService: { securityContext: { seLinuxOptions: null } } } },
  },
];

// ---- expectations, derived from the values the way a user reads them ------------------------------

interface Expect {
  release: string;
  namespace: string;
  fullname: string;
  serviceAccount: string;
  createServiceAccount: boolean;
  kubeletDir: string;
  preset: string;
  clusterDomain: string | undefined;
  crds: boolean;
  image: string;
  /** The telemetry and maintenance variables the values set, as upstream's chart sets them. */
  optionalEnv: Record<string, string>;
}

function dig(values: Record<string, unknown>, keys: string[]): unknown {
  let v: unknown = values;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function str(values: Record<string, unknown>, keys: string[], fallback: string): string {
  const v = dig(values, keys);
  return typeof v === 'string' && v !== '' ? v : fallback;
}

async function chartAppVersion(): Promise<string> {
  const chart = parseYaml(await readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  return chart.appVersion;
}

async function expectFor(set: ValueSet): Promise<Expect> {
  const v = set.values;
  const release = set.release ?? 'listener-operator';
  const chartName = 'listener-operator';
  const name = str(v, ['nameOverride'], chartName);
  const fullname = str(v, ['fullnameOverride'], release.includes(name) ? release : `${release}-${name}`);
  const create = dig(v, ['serviceAccount', 'create']) !== false;
  return {
    release,
    namespace: set.namespace ?? 'stackable-operators',
    fullname,
    serviceAccount: str(v, ['serviceAccount', 'name'], `${fullname}-serviceaccount`),
    createServiceAccount: create,
    kubeletDir: str(v, ['kubeletDir'], '/var/lib/kubelet').replace(/\/+$/, ''),
    preset: str(v, ['preset'], 'ephemeral-nodes'),
    clusterDomain: typeof dig(v, ['kubernetesClusterDomain']) === 'string' ? String(dig(v, ['kubernetesClusterDomain'])) : undefined,
    crds: dig(v, ['maintenance', 'customResourceDefinitions', 'maintain']) !== false,
    image: `${str(v, ['image', 'repository'], 'localhost/listener-operator')}:${str(v, ['image', 'tag'], await chartAppVersion())}`,
    optionalEnv: optionalEnvFor(v),
  };
}

/** What upstream's chart (its _telemetry.tpl and _maintenance.tpl) sets for these values. */
function optionalEnvFor(v: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  const t = (keys: string[]): unknown => dig(v, ['telemetry', ...keys]);
  const set = (name: string, value: unknown): void => { if (typeof value === 'string' || typeof value === 'number') env[name] = String(value); };
  const consoleOn = t(['consoleLog', 'enabled']) !== false;
  if (!consoleOn) env.CONSOLE_LOG_DISABLED = 'true';
  if (consoleOn) { set('CONSOLE_LOG_LEVEL', t(['consoleLog', 'level'])); set('CONSOLE_LOG_FORMAT', t(['consoleLog', 'format'])); }
  if (t(['fileLog', 'enabled']) === true) {
    env.FILE_LOG_DIRECTORY = '/stackable/logs/listener-operator';
    set('FILE_LOG_LEVEL', t(['fileLog', 'level']));
    set('FILE_LOG_ROTATION_PERIOD', t(['fileLog', 'rotationPeriod']) ?? 'hourly');
    set('FILE_LOG_MAX_FILES', t(['fileLog', 'maxFiles']) ?? 6);
  }
  for (const [key, kind] of [['otelLogExporter', 'LOG'], ['otelTraceExporter', 'TRACE']] as const) {
    if (t([key, 'enabled']) !== true) continue;
    env[`OTEL_${kind}_EXPORTER_ENABLED`] = 'true';
    set(`OTEL_${kind}_EXPORTER_LEVEL`, t([key, 'level']));
    set(`OTEL_EXPORTER_OTLP_${kind}S_ENDPOINT`, t([key, 'endpoint']));
  }
  const eos = (k: string): unknown => dig(v, ['maintenance', 'endOfSupportCheck', k]);
  if (eos('enabled') === false) env.EOS_DISABLED = 'true';
  else { set('EOS_CHECK_MODE', eos('mode')); set('EOS_INTERVAL', eos('interval')); }
  if (dig(v, ['maintenance', 'customResourceDefinitions', 'maintain']) === false) env.DISABLE_CRD_MAINTENANCE = 'true';
  return env;
}

// ---- field-by-field checks -------------------------------------------------------------------------

function expectedObjects(e: Expect): string[] {
  return [
    `ClusterRole/${e.fullname}-clusterrole`,
    `ClusterRoleBinding/${e.fullname}-clusterrolebinding`,
    `CSIDriver/${DRIVER_NAME}`,
    `DaemonSet/${e.fullname}-csi-node-driver`,
    `Deployment/${e.fullname}-csi-provisioner`,
    `Service/${e.fullname}`,
    ...(e.createServiceAccount ? [`ServiceAccount/${e.serviceAccount}`] : []),
    `StorageClass/${DRIVER_NAME}`,
  ].sort();
}

/** A Unix socket path from CSI_ENDPOINT or --csi-address (with or without unix://). */
const socketPath = (s: string | undefined): string => (s ?? '').replace(/^unix:\/\//, '');

/** The mount of `volume` in container `c`: its path, or a failure naming both. */
function mountOf(c: Container, volume: string): string {
  const m = c.volumeMounts?.find((x) => x.name === volume);
  assert.ok(m !== undefined, `container ${c.name} does not mount volume ${volume}`);
  return m.mountPath;
}

/** The container path of a socket lives in the directory of a mounted volume; returns that volume. */
function volumeHolding(w: Workload, c: Container, socket: string): string {
  const dir = path.posix.dirname(socket);
  const m = c.volumeMounts?.find((x) => path.posix.normalize(x.mountPath) === dir);
  assert.ok(m !== undefined, `${w.kind} ${c.name}: the socket ${socket} is not in a mounted volume`);
  return m.name;
}

function hostPathOf(w: Workload, volume: string): string {
  const v = w.spec.template.spec.volumes?.find((x) => x.name === volume);
  assert.ok(v?.hostPath !== undefined, `${w.kind}: volume ${volume} is not a hostPath`);
  return v.hostPath.path;
}

function checkSecurity(w: Workload, rootContainers: string[]): void {
  const pod = w.spec.template.spec;
  for (const c of pod.containers) {
    const sc = c.securityContext ?? {};
    assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${c.name}: drops every capability`);
    assert.equal(sc.capabilities.add, undefined, `${c.name}: adds no capability`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: read-only root filesystem`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`);
    assert.notEqual(sc.privileged, true, `${c.name}: not privileged`);
    const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
    if (rootContainers.includes(c.name)) assert.equal(uid, 0, `${c.name}: root (documented in values.yaml)`);
    else assert.ok(uid !== undefined && uid !== 0 && (sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) === true, `${c.name}: runs as non-root`);
  }
}

function checkProbes(c: Container): void {
  const httpAddress = envOf(c, 'HTTP_ADDRESS');
  const port = Number(httpAddress?.slice(httpAddress.lastIndexOf(':') + 1));
  const named = c.ports?.find((p) => p.name === 'http');
  assert.equal(named?.containerPort, port, `${c.name}: the http port is the one HTTP_ADDRESS (${httpAddress}) listens on`);
  assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'http' }, `${c.name}: liveness probe`);
  assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http' }, `${c.name}: readiness probe`);
}

/** Every variable the chart sets is one the CLI reads (src/cli/config.ts), upstream's where upstream has it. */
const KNOWN_ENV = [
  'CSI_ENDPOINT', 'HTTP_ADDRESS', 'OPERATOR_IMAGE', 'OPERATOR_NAMESPACE', 'OPERATOR_SERVICE_NAME', 'IMAGE_REPOSITORY', 'KUBERNETES_NODE_NAME',
  'KUBERNETES_CLUSTER_DOMAIN', 'LISTENER_CLASS_PRESET', 'WEBHOOK_ADDRESS', 'CONSOLE_LOG_DISABLED', 'CONSOLE_LOG_LEVEL', 'CONSOLE_LOG_FORMAT',
  'FILE_LOG_DIRECTORY', 'FILE_LOG_LEVEL', 'FILE_LOG_ROTATION_PERIOD', 'FILE_LOG_MAX_FILES', 'OTEL_LOG_EXPORTER_ENABLED', 'OTEL_LOG_EXPORTER_LEVEL',
  'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'OTEL_TRACE_EXPORTER_ENABLED', 'OTEL_TRACE_EXPORTER_LEVEL', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'EOS_DISABLED', 'EOS_CHECK_MODE', 'EOS_INTERVAL', 'DISABLE_CRD_MAINTENANCE',
];
const OPTIONAL_ENV = KNOWN_ENV.slice(KNOWN_ENV.indexOf('CONSOLE_LOG_DISABLED'));

function checkEnv(c: Container, e: Expect): void {
  const fieldRef = (name: string): string | undefined => c.env?.find((x) => x.name === name)?.valueFrom?.fieldRef?.fieldPath;
  assert.equal(fieldRef('OPERATOR_NAMESPACE'), 'metadata.namespace', `${c.name}: OPERATOR_NAMESPACE`);
  assert.equal(fieldRef('KUBERNETES_NODE_NAME'), 'spec.nodeName', `${c.name}: KUBERNETES_NODE_NAME from the downward API`);
  assert.equal(fieldRef('OPERATOR_IMAGE'), "metadata.annotations['internal.stackable.tech/image']", `${c.name}: OPERATOR_IMAGE from the Pod annotation`);
  assert.equal(envOf(c, 'OPERATOR_SERVICE_NAME'), e.fullname, `${c.name}: OPERATOR_SERVICE_NAME is the chart's Service`);
  assert.equal(envOf(c, 'KUBERNETES_CLUSTER_DOMAIN'), e.clusterDomain, `${c.name}: KUBERNETES_CLUSTER_DOMAIN`);
  assert.equal(envOf(c, 'IMAGE_REPOSITORY'), e.image.slice(0, e.image.lastIndexOf(':')), `${c.name}: IMAGE_REPOSITORY`);
  assert.equal(c.image, e.image, `${c.name}: image`);
  for (const v of c.env ?? []) assert.ok(KNOWN_ENV.includes(v.name), `${c.name}: unknown environment variable ${v.name}`);
  const optional = Object.fromEntries((c.env ?? []).filter((x) => OPTIONAL_ENV.includes(x.name)).map((x) => [x.name, x.value ?? '']));
  assert.deepEqual(optional, e.optionalEnv, `${c.name}: the telemetry and maintenance variables, as upstream's chart sets them`);
}

function checkSelectors(w: Workload, r: Rendered, e: Expect): void {
  const labels = w.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(w.spec.selector.matchLabels)) assert.equal(labels[k], v, `${w.kind}: selector ${k} matches its Pods`);
  assert.equal(labels['app.kubernetes.io/instance'], e.release);
  // The Service (the conversion webhook's) selects the controller Pod; while the operator
  // maintains the CRDs, only it (upstream's webhook.stackable.tech/conversion label).
  const svc = r.get('Service', e.fullname) as K8sObject & { spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: number | string }[] } };
  const selected = Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v);
  assert.equal(selected, w.kind === 'Deployment' || !e.crds, `the Service ${selected ? 'selects' : 'does not select'} the ${w.kind}'s Pods`);
  assert.equal(svc.spec.selector['webhook.stackable.tech/conversion'], e.crds ? 'enabled' : undefined);
  assert.deepEqual(svc.spec.ports.find((p) => p.name === 'conversion-webhook'), { name: 'conversion-webhook', protocol: 'TCP', port: 8443, targetPort: 8443 });
}

function checkController(r: Rendered, e: Expect): void {
  const d = r.workload('Deployment', `${e.fullname}-csi-provisioner`);
  const pod = d.spec.template.spec;
  assert.equal(pod.serviceAccountName, e.serviceAccount, 'Deployment runs as the chart\'s ServiceAccount');
  const ctl = container(d, 'csi-controller-service');
  const prov = container(d, 'external-provisioner');
  assert.deepEqual(ctl.args, ['run', 'controller']);
  assert.equal(envOf(ctl, 'LISTENER_CLASS_PRESET'), e.preset, 'the preset reaches the controller');
  assert.equal(envOf(ctl, 'WEBHOOK_ADDRESS'), ':8443', 'the webhook listens on every address, on the Service\'s target port');
  assert.equal(ctl.ports?.find((p) => p.name === 'webhook')?.containerPort, 8443);
  checkEnv(ctl, e);
  checkProbes(ctl);

  // One socket: the controller listens where the provisioner connects, in a shared emptyDir.
  const socket = socketPath(envOf(ctl, 'CSI_ENDPOINT'));
  assert.ok(socket.startsWith('/'), `CSI_ENDPOINT ${socket} is an absolute path`);
  assert.equal(socketPath(argOf(prov, '--csi-address')), socket, 'provisioner --csi-address = controller CSI_ENDPOINT');
  const vol = volumeHolding(d, ctl, socket);
  assert.equal(volumeHolding(d, prov, socket), vol, 'both containers see the socket through the same volume');
  assert.equal(mountOf(prov, vol), mountOf(ctl, vol));
  assert.deepEqual(pod.volumes?.find((v) => v.name === vol)?.emptyDir, {}, 'the socket volume is an emptyDir');
  assert.ok(prov.args?.includes('--feature-gates=Topology=true'), 'provisioner: Topology');
  assert.ok(prov.args?.includes('--extra-create-metadata'), 'provisioner: --extra-create-metadata (PVC name and namespace in CreateVolume)');
  assert.equal(pod.volumes?.some((v) => v.hostPath !== undefined), false, 'the controller mounts nothing from the host');
  checkSecurity(d, []);
  checkSelectors(d, r, e);
}

function checkNode(r: Rendered, e: Expect): void {
  const ds = r.workload('DaemonSet', `${e.fullname}-csi-node-driver`);
  const pod = ds.spec.template.spec;
  assert.equal(pod.serviceAccountName, e.serviceAccount, 'DaemonSet runs as the chart\'s ServiceAccount');
  const node = container(ds, 'csi-node-service');
  const reg = container(ds, 'node-driver-registrar');
  assert.deepEqual(node.args, ['run', 'node']);
  assert.equal(envOf(node, 'LISTENER_CLASS_PRESET'), undefined);
  assert.equal(envOf(node, 'WEBHOOK_ADDRESS'), undefined);
  checkEnv(node, e);
  checkProbes(node);

  // The socket: node service and registrar agree inside the Pod, and the registrar tells the
  // kubelet where that same file is on the host.
  const socket = socketPath(envOf(node, 'CSI_ENDPOINT'));
  assert.equal(socketPath(argOf(reg, '--csi-address')), socket, 'registrar --csi-address = node CSI_ENDPOINT');
  const vol = volumeHolding(ds, node, socket);
  assert.equal(volumeHolding(ds, reg, socket), vol);
  const pluginDir = hostPathOf(ds, vol);
  assert.equal(path.posix.normalize(pluginDir), `${e.kubeletDir}/plugins/${DRIVER_NAME}/`, 'socket directory on the host');
  const onHost = path.posix.join(pluginDir, path.posix.relative(mountOf(node, vol), socket));
  assert.equal(argOf(reg, '--kubelet-registration-path'), onHost, '--kubelet-registration-path is the socket\'s host path');

  // The registration directory.
  assert.equal(mountOf(reg, 'registration-sock'), '/registration');
  assert.equal(hostPathOf(ds, 'registration-sock'), `${e.kubeletDir}/plugins_registry`);

  // The kubelet's target paths (<kubeletDir>/pods/...) are host paths: mounted at the same path.
  const pods = hostPathOf(ds, 'mountpoint');
  assert.equal(path.posix.normalize(pods), `${e.kubeletDir}/pods/`);
  assert.equal(path.posix.normalize(mountOf(node, 'mountpoint') + '/'), path.posix.normalize(pods), 'pods directory mounted at its host path');
  assert.equal(reg.volumeMounts?.some((m) => m.name === 'mountpoint'), false, 'the registrar does not see Pod volumes');

  // kubeletDir reaches every hostPath, and nothing else comes from the host.
  for (const v of pod.volumes ?? []) {
    if (v.hostPath !== undefined) assert.ok(v.hostPath.path.startsWith(`${e.kubeletDir}/`), `hostPath ${v.hostPath.path} is under kubeletDir ${e.kubeletDir}`);
  }
  assert.equal(pod.volumes?.filter((v) => v.hostPath !== undefined).length, 3);
  if (!e.kubeletDir.endsWith('/var/lib/kubelet')) assert.ok(!r.yaml.includes('/var/lib/kubelet'), 'no hard-coded /var/lib/kubelet');
  checkSecurity(ds, ['csi-node-service', 'node-driver-registrar']);
  checkSelectors(ds, r, e);
}

function checkCluster(r: Rendered, e: Expect): void {
  const driver = r.get('CSIDriver') as K8sObject & { spec: Record<string, unknown> };
  assert.deepEqual(driver.spec, { attachRequired: false, podInfoOnMount: true, fsGroupPolicy: 'File', volumeLifecycleModes: ['Persistent', 'Ephemeral'] });
  const sc = r.get('StorageClass') as K8sObject & { provisioner: string; volumeBindingMode: string };
  assert.equal(sc.provisioner, DRIVER_NAME);
  assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer');

  const binding = r.get('ClusterRoleBinding') as K8sObject & { subjects: { kind: string; name: string; namespace: string }[]; roleRef: { kind: string; name: string } };
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: e.serviceAccount, namespace: e.namespace }], 'the binding names the ServiceAccount the Pods run as');
  assert.deepEqual(binding.roleRef, { kind: 'ClusterRole', name: `${e.fullname}-clusterrole`, apiGroup: 'rbac.authorization.k8s.io' });
  if (e.createServiceAccount) assert.equal(r.get('ServiceAccount').metadata.name, e.serviceAccount);

  // The operator owns the CRDs (maintenance.customResourceDefinitions): the chart ships none.
  assert.deepEqual(r.all('CustomResourceDefinition'), []);
  for (const o of r.objects) {
    const cluster = ['ClusterRole', 'ClusterRoleBinding', 'CSIDriver', 'StorageClass', 'CustomResourceDefinition'].includes(o.kind);
    assert.equal(o.metadata.namespace, undefined, `${o.kind}/${o.metadata.name}: the namespace comes from the install (-n)`);
    if (!cluster && o.kind !== 'ServiceAccount') assert.ok(o.metadata.name.startsWith(e.fullname), `${o.kind}/${o.metadata.name} is named after the release`);
  }
}

function checkPlacement(r: Rendered, set: ValueSet, e: Expect): void {
  for (const [key, kind, name] of [['csiProvisioner', 'Deployment', `${e.fullname}-csi-provisioner`], ['csiNodeDriver', 'DaemonSet', `${e.fullname}-csi-node-driver`]] as const) {
    const pod = r.workload(kind, name).spec.template.spec;
    const want = (k: string): unknown => dig(set.values, [key, k]);
    assert.deepEqual(pod.tolerations, want('tolerations'), `${kind} tolerations`);
    assert.deepEqual(pod.nodeSelector, want('nodeSelector'), `${kind} nodeSelector`);
    assert.deepEqual(pod.affinity, want('affinity'), `${kind} affinity`);
    assert.equal(pod.priorityClassName, want('priorityClassName'), `${kind} priorityClassName`);
    const annotations = r.workload(kind, name).spec.template.metadata.annotations ?? {};
    for (const [k, v] of Object.entries((want('podAnnotations') ?? {}) as Record<string, string>)) assert.equal(annotations[k], v, `${kind} podAnnotations`);
    const pullSecrets = dig(set.values, ['image', 'pullSecrets']);
    assert.deepEqual(pod.imagePullSecrets, pullSecrets, `${kind} imagePullSecrets`);
  }
}

async function checkAll(set: ValueSet): Promise<Rendered> {
  const e = await expectFor(set);
  const r = await renderChart(set.values, { release: e.release, namespace: e.namespace });
  assert.deepEqual(r.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), expectedObjects(e));
  checkController(r, e);
  checkNode(r, e);
  checkCluster(r, e);
  checkPlacement(r, set, e);
  return r;
}

// ---- tests -----------------------------------------------------------------------------------------

for (const set of VALUE_SETS) {
  test(`helm lint and helm template, field by field: ${set.name}`, async () => {
    const out = await lintChart(set.values);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    await checkAll(set);
  });
}

test('values that reach one place only change that place', async () => {
  const base = await renderChart({});
  const custom = await renderChart({ csiProvisioner: { controllerService: { resources: { requests: { cpu: '50m', memory: '300Mi' }, limits: { memory: '600Mi' } } } } });
  const ctl = (r: Rendered): Container => container(r.workload('Deployment'), 'csi-controller-service');
  // Helm merges a partial map into the defaults: the limits' cpu stays.
  assert.deepEqual(ctl(custom).resources, { requests: { cpu: '50m', memory: '300Mi' }, limits: { cpu: '500m', memory: '600Mi' } });
  assert.deepEqual(container(custom.workload('DaemonSet'), 'csi-node-service').resources, container(base.workload('DaemonSet'), 'csi-node-service').resources);
  const domain = await renderChart({ kubernetesClusterDomain: 'example.internal' });
  assert.equal(envOf(ctl(domain), 'KUBERNETES_CLUSTER_DOMAIN'), 'example.internal');
  assert.equal(envOf(container(domain.workload('DaemonSet'), 'csi-node-service'), 'KUBERNETES_CLUSTER_DOMAIN'), 'example.internal');
});

test('serviceAccount.create=false without a name is refused with the reason', async () => {
  const err = await renderChartError({ serviceAccount: { create: false } });
  assert.match(err, /serviceAccount\.name is required when serviceAccount\.create is false/);
});

test('pinned versions agree: the provisioner image is the external-provisioner the tests build, the Dockerfile\'s Node is the project\'s', async () => {
  const values = parseYaml(await readFile(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as { csiProvisioner: { externalProvisioner: { image: { tag: string } } } };
  const goMod = await readFile(path.join(ROOT, 'tools', 'csi', 'go.mod'), 'utf8');
  const pinned = /github\.com\/kubernetes-csi\/external-provisioner\/v\d+ (v[\d.]+)/.exec(goMod)?.[1];
  assert.equal(values.csiProvisioner.externalProvisioner.image.tag, pinned);
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const node = lock.packages['node_modules/node']?.version;
  const dockerfile = await readFile(path.join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  assert.equal(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1], node, 'Dockerfile NODE_VERSION = the pinned node dev dependency');
});

test('the provisioner accepts the chart\'s arguments (the pinned csi-provisioner binary parses them)', async () => {
  const prov = container((await renderChart({})).workload('Deployment'), 'external-provisioner');
  const out = await new Promise<string>((resolve) => {
    // It gets past flag parsing and stops at the (missing) kubeconfig: the arguments are valid.
    // (KUBECONFIG, when set, would win over --kubeconfig.)
    const child = spawn(path.join(toolsBin(), 'csi-provisioner'), [...(prov.args ?? []), '--kubeconfig=/nonexistent/kubeconfig'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { text += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 20_000);
    child.on('exit', () => { clearTimeout(timer); resolve(text); });
  });
  assert.doesNotMatch(out, /unknown flag|unrecognized feature gate|invalid argument/i, out);
  assert.match(out, /\/nonexistent\/kubeconfig/, out);
});

// ---- the real API server ---------------------------------------------------------------------------

async function kubectl(args: string[], input: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath(), [`--kubeconfig=${process.env.KUBECONFIG ?? ''}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr}`));
    });
    child.stdin.end(input);
  });
}

for (const set of VALUE_SETS) {
  test(`the rendered manifests pass a server-side dry-run apply on the real API server: ${set.name}`, async (t) => {
    const client = await testClient();
    t.after(() => { client.close(); });
    const ns = await freshNamespace(t, client, 'helm');
    // Cluster-scoped names are unique per test (parallel tests share the API server).
    const values = { ...set.values, fullnameOverride: `lo-${ns}` };
    const r = await renderChart(values, { release: set.release ?? 'listener-operator', namespace: ns });
    const { stdout } = await kubectl(['apply', '--server-side', '--dry-run=server', `--namespace=${ns}`, '--field-manager=helm-dry-run', '-f', '-'], r.yaml);
    const applied = stdout.trim().split('\n').filter((l) => l !== '');
    assert.equal(applied.length, r.objects.length, stdout);
    for (const line of applied) assert.match(line, /serverside-applied \(server dry run\)$/, line);
  });
}

test('Pod Security: the controller Pod meets "restricted"; the node Pod needs exactly its hostPaths and the spc_t SELinux type', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client, 'helm-psa');
  const r = await renderChart({ fullnameOverride: `lo-${ns}` }, { namespace: ns });
  // The ServiceAccount must exist for a Pod to be admitted.
  await kubectl(['apply', '--server-side', `--namespace=${ns}`, '-f', '-'], JSON.stringify(r.get('ServiceAccount')));
  const podOf = (w: Workload): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: w.metadata.name, namespace: ns, labels: w.spec.template.metadata.labels }, spec: w.spec.template.spec });

  await client.mergePatch(at(NAMESPACES, undefined, ns), { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
  await kubectl(['create', '--dry-run=server', '-f', '-'], podOf(r.workload('Deployment')));

  await client.mergePatch(at(NAMESPACES, undefined, ns), { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
  const refused = await kubectl(['create', '--dry-run=server', '-f', '-'], podOf(r.workload('DaemonSet'))).then(() => '', (e: unknown) => String(e));
  const violations = /violates PodSecurity "baseline:latest": (.*)$/m.exec(refused)?.[1] ?? refused;
  const kinds = violations.split(/\), /).map((v) => v.replace(/ \(.*$/, '').trim()).sort();
  assert.deepEqual(kinds, ['hostPath volumes', 'seLinuxOptions'], refused);

  await client.mergePatch(at(NAMESPACES, undefined, ns), { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
  await kubectl(['create', '--dry-run=server', '-f', '-'], podOf(r.workload('DaemonSet')));
});

