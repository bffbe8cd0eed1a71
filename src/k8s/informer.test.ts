// The informer's own logic against a scripted client (its behaviour against the real API server,
// 410 re-lists and silent connections included, is in test/integration/informer-recovery.test.ts).
// Timers are mocked: the tests advance time themselves.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { ApiError, type CallOptions, type KubeClient, type KubeObject, type ObjectList, type RequestOptions, type WatchEvent } from './client.ts';
import { Informer, WatchStalled } from './informer.ts';

beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'] }); });
afterEach(() => { mock.timers.reset(); });

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

interface WatchCall {
  query: RequestOptions['query'];
  onEvent: (e: WatchEvent<KubeObject>) => void;
  signal: AbortSignal | undefined;
  end: (error?: Error) => void;
}

/** Answers LIST with one object at resourceVersion 10; every watch waits until the test ends it (or its signal aborts). */
class ScriptedClient {
  lists = 0;
  listSignal: AbortSignal | undefined;
  readonly watches: WatchCall[] = [];

  list(_r: unknown, _q: unknown, o: CallOptions = {}): Promise<ObjectList<KubeObject>> {
    this.lists++;
    this.listSignal = o.signal;
    return Promise.resolve({ items: [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '10' } }], metadata: { resourceVersion: '10' } });
  }

  watch(_r: unknown, query: RequestOptions['query'], onEvent: (e: WatchEvent<KubeObject>) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const aborted = (): void => { resolve(); };
      const end = (error?: Error): void => {
        signal?.removeEventListener('abort', aborted);
        if (error === undefined) resolve();
        else reject(error);
      };
      signal?.addEventListener('abort', aborted, { once: true });
      this.watches.push({ query, onEvent, signal, end });
    });
  }
}

async function started(opts: ConstructorParameters<typeof Informer>[2] = {}): Promise<{ client: ScriptedClient; informer: Informer<KubeObject>; errors: unknown[] }> {
  const client = new ScriptedClient();
  const errors: unknown[] = [];
  const informer = new Informer<KubeObject>(client as unknown as KubeClient, { group: '', version: 'v1', plural: 'configmaps', namespace: 'ns' }, { onError: (e) => { errors.push(e); }, ...opts });
  await informer.start();
  await flush();
  return { client, informer, errors };
}

test('watch timeouts are drawn uniformly from [5, 10) minutes, as client-go\'s, so reconnects do not line up', async () => {
  const draws = [0, 0.5, 0.999];
  const { client, informer } = await started({ random: () => draws.shift() ?? 0 });
  for (let i = 0; i < 2; i++) {
    client.watches[i]?.end(); // the server ends the watch at its timeout
    await flush();
  }
  assert.deepEqual(client.watches.map((w) => w.query?.timeoutSeconds), [300, 450, 599]);
  assert.ok(client.watches.every((w) => w.query?.allowWatchBookmarks === true), 'bookmarks are requested');
  await informer.stop();
});

test('a watch that delivers nothing for the progress deadline is restarted from its resourceVersion; events and bookmarks keep it', async () => {
  const { client, informer, errors } = await started({ progressDeadlineMs: 60_000 });
  const first = client.watches[0];
  mock.timers.tick(40_000);
  first?.onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } });
  mock.timers.tick(59_999);
  await flush();
  assert.equal(client.watches.length, 1, 'a bookmark is progress');
  mock.timers.tick(1);
  await flush();
  assert.equal(first?.signal?.aborted, true, 'the silent watch is cut');
  assert.ok(errors.some((e) => e instanceof WatchStalled), 'and reported');
  mock.timers.tick(200); // the first retry's backoff
  await flush();
  assert.equal(client.watches.length, 2);
  assert.equal(client.watches[1]?.query?.resourceVersion, '12', 'it resumes where it was, without a re-list');
  assert.equal(client.lists, 1);
  await informer.stop();
});

test('a watch ERROR other than 410 is reported, backs off, and resumes from the same resourceVersion without a re-list', async () => {
  const { client, informer, errors } = await started();
  client.watches[0]?.onEvent({ type: 'ADDED', object: { metadata: { name: 'b', namespace: 'ns', resourceVersion: '11' } } });
  client.watches[0]?.end(new ApiError(500, 'InternalError', 'etcd is unhappy'));
  await flush();
  assert.ok(errors.some((e) => e instanceof ApiError && e.status === 500));
  mock.timers.tick(199);
  await flush();
  assert.equal(client.watches.length, 1, 'it backs off first');
  mock.timers.tick(1);
  await flush();
  assert.equal(client.watches[1]?.query?.resourceVersion, '11');
  assert.equal(client.lists, 1);
  assert.ok(informer.get('ns/b'));
  await informer.stop();
});

test('retrying after errors leaves no abort listener behind on the informer\'s stop signal', async () => {
  const { client, informer } = await started();
  const stopSignal = client.listSignal;
  assert.ok(stopSignal !== undefined, 'the LIST carries the informer\'s stop signal (so stop() ends a pending LIST)');
  for (let i = 0; i < 50; i++) {
    client.watches[i]?.end(new Error('connection reset'));
    await flush();
    mock.timers.tick(10_000); // past any backoff
    await flush();
  }
  assert.equal(client.watches.length, 51);
  assert.ok(getEventListeners(stopSignal, 'abort').length <= 2, `${getEventListeners(stopSignal, 'abort').length} abort listeners after 50 retries`);
  await informer.stop();
});

test('the initial LIST comes in pages of 500 (limit/continue), one snapshot; the watch starts from its resourceVersion', async () => {
  const client = new ScriptedClient();
  const queries: RequestOptions['query'][] = [];
  const pages: ObjectList<KubeObject>[] = [
    { items: [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '5' } }], metadata: { resourceVersion: '20', continue: 'token-1' } },
    { items: [{ metadata: { name: 'b', namespace: 'ns', resourceVersion: '7' } }], metadata: { resourceVersion: '20', continue: '' } },
  ];
  client.list = (_r: unknown, q: unknown): Promise<ObjectList<KubeObject>> => {
    queries.push(q as RequestOptions['query']);
    const page = pages.shift();
    return page === undefined ? Promise.reject(new Error('no more pages')) : Promise.resolve(page);
  };
  const informer = new Informer<KubeObject>(client as unknown as KubeClient, { group: '', version: 'v1', plural: 'configmaps', namespace: 'ns' }, { labelSelector: 'x=y' });
  await informer.start();
  await flush();
  assert.deepEqual(queries, [
    { labelSelector: 'x=y', fieldSelector: undefined, limit: 500, continue: undefined },
    { labelSelector: 'x=y', fieldSelector: undefined, limit: 500, continue: 'token-1' },
  ]);
  assert.deepEqual(informer.list().map((o) => o.metadata?.name).sort(), ['a', 'b']);
  assert.equal(client.watches[0]?.query?.resourceVersion, '20');
  await informer.stop();
});
