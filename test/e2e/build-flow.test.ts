// The building guide's developer flow (README, "Build and deploy from source"), run as written onto
// the real node. The machine has no Docker engine, so three commands are carried out by their
// nearest equivalents, and the node needs one values file; everything else is verbatim:
//
//   REPO=listener-operator; TAG=$(uuidgen)
//   docker build . -f docker/Dockerfile -t "$REPO:$TAG"    docker/Dockerfile's runtime stage assembled as written (operator-image.ts)
//   kind load docker-image "$REPO:$TAG"                     ctr images import into the node's containerd
//   docker run --rm "$REPO:$TAG" crd | kubectl apply -f-    ctr run --rm of that image on the node's containerd, piped into kubectl apply
//   helm upgrade listener-operator deploy/helm/listener-operator \
//     --install --set-string "image.repository=$REPO,image.tag=$TAG"
//                                                           as written, plus `-f <node values>`: this node's kubeletDir, preset and
//                                                           the two sidecar images (it cannot pull from registry.k8s.io); the
//                                                           kubeconfig's current namespace is the release's, as a user's kubectl context
//
// Then: the operator's Pods run $REPO:$TAG and are Ready, kubelet has the driver registered, and a
// Pod with a listener volume gets its files. The release is rolled back afterwards.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultAddressFiles, e2eClient, e2eState, ephemeralListenerVolume, waitPodReady, webContainer } from '../support/e2e.ts';
import { CHART_DIR, helm } from '../support/helm.ts';
import { e2eImagesDir, layerCacheOf } from '../support/images.ts';
import { freshNamespace } from '../support/k8s.ts';
import { assembleOperatorImage } from '../support/operator-image.ts';
import { waitDriverRegistered, waitWorkloadImage } from '../support/e2e-operator.ts';
import { LISTENERS, PODS, at } from '../../src/k8s/resources.ts';
import type { ListenerStatus } from '../../src/crd/index.ts';

const run = promisify(execFile);

/** How containerd (and the kubelet) name an image given as `name` (docker's normalisation). */
export function normalizedRef(name: string): string {
  const first = name.split('/')[0] ?? '';
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasDomain) return name;
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}

/** `docker run --rm IMAGE args...` on the node's containerd: the image's ENTRYPOINT with `args` instead of its CMD. */
async function ctrRun(socket: string, image: string, entrypoint: string[], args: string[]): Promise<string> {
  const id = `build-flow-${randomBytes(4).toString('hex')}`;
  // ctr's arguments replace the whole command (docker's replace only CMD), so the ENTRYPOINT is
  // given first. The cgroup sits in the node's tree, which its teardown sweeps.
  const { stdout } = await run('ctr', ['-a', socket, '-n', 'k8s.io', 'run', '--rm', `--cgroup=/listener-e2e/${id}`, normalizedRef(image), id, ...entrypoint, ...args], { maxBuffer: 16 << 20, timeout: 60_000 });
  return stdout;
}

/** `cmd | kubectl apply -f-` */
async function kubectlApply(kubectl: string, kubeconfig: string, manifests: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, ['apply', '-f-'], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 60_000);
    child.on('exit', (code) => { clearTimeout(timer); if (code === 0) resolve(out); else reject(new Error(`kubectl apply -f- exited ${code ?? 'by signal'}:\n${out}`)); });
    child.stdin.end(manifests);
  });
}

async function userKubeconfig(t: TestContext, kubectl: string, adminKubeconfig: string, namespace: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'build-flow-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  await copyFile(adminKubeconfig, file);
  await run(kubectl, ['config', 'set-context', '--current', `--namespace=${namespace}`], { env: { ...process.env, KUBECONFIG: file } });
  return file;
}

test('the building guide\'s flow onto the real node: image from docker/Dockerfile, its crd into kubectl apply, helm upgrade --install with image.repository/image.tag', { timeout: 600_000 }, async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const kubectl = path.join(state.binDir, 'kubectl');
  const kubeconfig = await userKubeconfig(t, kubectl, state.kubeconfig, state.operatorNamespace);
  const REPO = 'listener-operator';
  const TAG = randomUUID();
  const image = `${REPO}:${TAG}`;

  // docker build . -f docker/Dockerfile -t "$REPO:$TAG"
  const work = await mkdtemp(path.join(tmpdir(), 'build-flow-image-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  let t0 = Date.now();
  const archive = path.join(work, 'image.tar');
  const config = await assembleOperatorImage({ name: image, out: archive, layerCache: layerCacheOf(e2eImagesDir()) });
  // The image's ID is the digest of its configuration (the archive's Config file is named after it).
  const manifest = JSON.parse((await run('tar', ['-xOf', archive, './manifest.json'])).stdout) as { Config: string }[];
  const imageId = `sha256:${(manifest[0]?.Config ?? '').replace(/\.json$/, '')}`;
  t.diagnostic(`image ${image} (${imageId}) assembled from docker/Dockerfile in ${Date.now() - t0} ms`);

  // kind load docker-image "$REPO:$TAG"
  t0 = Date.now();
  await run('ctr', ['-a', state.containerdSocket, '-n', 'k8s.io', 'images', 'import', archive], { timeout: 120_000 });
  t.diagnostic(`imported into the node's containerd as ${normalizedRef(image)} in ${Date.now() - t0} ms`);

  // docker run --rm "$REPO:$TAG" crd | kubectl apply -f-
  const crds = await ctrRun(state.containerdSocket, image, config.Entrypoint, ['crd']);
  assert.match(crds, /^kind: CustomResourceDefinition$/m, 'the image\'s crd prints the CRDs');
  const applied = await kubectlApply(kubectl, kubeconfig, crds);
  for (const crd of ['listenerclasses', 'listeners', 'podlisteners']) assert.match(applied, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${crd}.listeners.stackable.tech (created|configured|unchanged)`));

  // helm upgrade listener-operator deploy/helm/listener-operator --install --set-string "image.repository=$REPO,image.tag=$TAG"
  t.after(async () => {
    // Back to the release as the e2e setup installed it, for the scenarios that follow.
    await helm(state.kubeconfig, ['rollback', state.release, '--namespace', state.operatorNamespace]);
    await waitWorkloadImage(client, state.operatorNamespace, state.deployment.selector, 'csi-controller-service', state.operatorImage);
    await waitWorkloadImage(client, state.operatorNamespace, state.daemonSet.selector, 'csi-node-service', state.operatorImage);
    await waitDriverRegistered(client, state.nodeName);
  });
  t0 = Date.now();
  const out = await helm(kubeconfig, ['upgrade', 'listener-operator', path.relative(process.cwd(), CHART_DIR), '--install', '--set-string', `image.repository=${REPO},image.tag=${TAG}`, '-f', state.valuesFile]);
  assert.match(out, /has been upgraded/);
  const controller = await waitWorkloadImage(client, state.operatorNamespace, state.deployment.selector, 'csi-controller-service', image);
  const nodePlugin = await waitWorkloadImage(client, state.operatorNamespace, state.daemonSet.selector, 'csi-node-service', image);
  await waitDriverRegistered(client, state.nodeName);
  for (const p of [controller, nodePlugin]) {
    const s = p.status?.containerStatuses?.find((c) => c.name === (p === controller ? 'csi-controller-service' : 'csi-node-service'));
    assert.equal(s?.image, normalizedRef(image), `${p.metadata.name} runs the imported image`);
    assert.equal(s.imageID, imageId, `${p.metadata.name} runs the image assembled above`);
    t.diagnostic(`${p.metadata.name}: ${s?.image ?? '?'} (${s?.imageID ?? '?'})`);
  }
  t.diagnostic(`helm upgrade → both Pods Ready on ${image}, driver registered: ${Date.now() - t0} ms`);

  // A Pod with a listener volume gets its files.
  const ns = await freshNamespace(t, client, 'e2e-build-flow');
  await client.create(at(PODS, ns), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-class': 'cluster-internal' })],
      terminationGracePeriodSeconds: 1,
    },
  });
  const pod = await waitPodReady(client, ns, 'web');
  const listener = await client.get<{ status?: ListenerStatus }>(at(LISTENERS, ns, 'web-listener'));
  const first = listener.status?.ingressAddresses?.[0];
  assert.ok(first !== undefined, 'the Listener has an address');
  const files = await defaultAddressFiles(pod, 'listener', ['http']);
  assert.deepEqual(files, { address: first.address, ports: { http: first.ports.http } });
  t.diagnostic(`the Pod's volume: default-address/address ${files.address}, ports/http ${files.ports.http ?? '?'}`);
});
