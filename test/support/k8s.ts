// Helpers for integration tests: a client for the shared control plane, a fresh namespace per
// test, and polling for eventual state.
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../src/k8s/client.ts';
import { NAMESPACES, at } from '../../src/k8s/resources.ts';

export async function testClient(): Promise<KubeClient> {
  const kubeconfig = process.env.KUBECONFIG;
  if (kubeconfig === undefined || kubeconfig === '') {
    throw new Error('KUBECONFIG is not set: run integration tests through `npm test` (its global setup starts the control plane)');
  }
  return KubeClient.fromKubeconfig(kubeconfig);
}

/** Creates a namespace for this test; it is deleted when the test ends. */
export async function freshNamespace(t: TestContext, client: KubeClient, prefix = 'it'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await client.create(at(NAMESPACES, undefined), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  t.after(async () => {
    await client.delete(at(NAMESPACES, undefined, name)).catch(() => undefined);
  });
  return name;
}

/** Polls `fn` (every `intervalMs`) until it returns a value other than undefined, or fails with the last reason. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const reason = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
}

/**
 * `p`, or a rejection saying it was still pending after `ms`: for asserting that something ends
 * (a timeout, an abort) without letting a regression hang the test.
 */
export async function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} was still pending after ${ms} ms`)); }, ms);
  });
  try {
    return await Promise.race([p, pending]);
  } finally {
    clearTimeout(timer);
  }
}
