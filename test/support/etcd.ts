// etcd of the shared control plane, for tests that need what only etcd can do: forgetting history
// (compaction), so that a watch from an old resourceVersion gets 410 Expired.

/** Compacts etcd's history up to its current revision (physically) and returns that revision. */
export async function compactEtcd(etcdUrl?: string): Promise<number> {
  const etcd = etcdUrl ?? process.env.LISTENER_TEST_ETCD_URL;
  if (etcd === undefined || etcd === '') throw new Error('LISTENER_TEST_ETCD_URL is not set: run integration tests with the global setup');
  // etcd's JSON gateway: any range read reports the current revision in its header.
  const range = await post<{ header: { revision: string } }>(`${etcd}/v3/kv/range`, { key: Buffer.from('/').toString('base64') });
  const revision = Number(range.header.revision);
  await post(`${etcd}/v3/kv/compaction`, { revision: range.header.revision, physical: true });
  return revision;
}

async function post<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return await res.json() as T;
}
