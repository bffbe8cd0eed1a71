import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { Manager, type Component, type Running } from './manager.ts';

interface Recorder { lines: string[]; events: string[]; manager: Manager }

function recorder(graceMs = 1000): Recorder {
  const lines: string[] = [];
  const events: string[] = [];
  const manager = new Manager({ graceMs, fatal: (l) => { lines.push(l); }, info: () => undefined });
  return { lines, events, manager };
}

/** A component that records its start and stop; `done` lets a test end it. */
function service(r: Recorder, name: string, o: { failStart?: string; stopMs?: number } = {}): Component & { end: (e?: Error) => void } {
  let end: (e?: Error) => void = () => undefined;
  return {
    name,
    end: (e) => { end(e); },
    start: (): Promise<Running> => {
      r.events.push(`start ${name}`);
      if (o.failStart !== undefined) return Promise.reject(new Error(o.failStart, { cause: new Error('the cause') }));
      const done = new Promise<void>((resolve, reject) => { end = (e) => { if (e) reject(e); else resolve(); }; });
      return Promise.resolve({
        done,
        stop: async () => {
          r.events.push(`stop ${name}`);
          if (o.stopMs !== undefined) await new Promise((res) => setTimeout(res, o.stopMs));
        },
      });
    },
  };
}

const never = new Promise<string>(() => undefined);

test('SIGTERM stops every component in reverse order, exit 0', async () => {
  const r = recorder();
  r.manager.add(service(r, 'http')).add(service(r, 'csi')).add(service(r, 'controller'));
  let term: (s: string) => void = () => undefined;
  const running = r.manager.run(new Promise((res) => { term = res; }));
  await new Promise((res) => setImmediate(res));
  assert.equal(r.manager.state, 'running');
  term('SIGTERM');
  assert.equal(await running, 0);
  assert.deepEqual(r.events, ['start http', 'start csi', 'start controller', 'stop controller', 'stop csi', 'stop http']);
  assert.deepEqual(r.lines, []);
});

test('a failed start stops what started, exit 1, one line naming it and the cause', async () => {
  const r = recorder();
  r.manager.add(service(r, 'http')).add(service(r, 'csi', { failStart: 'cannot listen on the CSI socket /x' })).add(service(r, 'controller'));
  assert.equal(await r.manager.run(never), 1);
  assert.deepEqual(r.events, ['start http', 'start csi', 'stop http']);
  assert.deepEqual(r.lines, ['csi failed to start: cannot listen on the CSI socket /x: the cause']);
});

test('a component failing later stops all, exit 1; a service ending on its own counts as a failure', async () => {
  for (const [error, line] of [[new Error('lost the leader Lease'), 'leader failed: lost the leader Lease'], [undefined, 'leader stopped unexpectedly']] as const) {
    const r = recorder();
    const leader = service(r, 'leader');
    r.manager.add(service(r, 'http')).add(leader).add(service(r, 'controller'));
    const running = r.manager.run(never);
    await new Promise((res) => setImmediate(res));
    leader.end(error);
    assert.equal(await running, 1);
    assert.deepEqual(r.events, ['start http', 'start leader', 'start controller', 'stop controller', 'stop leader', 'stop http']);
    assert.deepEqual(r.lines, [line]);
  }
});

test('a task may finish on its own', async () => {
  const r = recorder();
  r.manager.add({ name: 'presets', kind: 'task', start: () => Promise.resolve({ done: Promise.resolve() }) }).add(service(r, 'controller'));
  let term: (s: string) => void = () => undefined;
  const running = r.manager.run(new Promise((res) => { term = res; }));
  await new Promise((res) => setImmediate(res));
  assert.equal(r.manager.state, 'running');
  term('SIGTERM');
  assert.equal(await running, 0);
});

test('a stop signal during a long start aborts it and stops what it still delivers', async () => {
  const r = recorder();
  let aborted = false;
  r.manager.add(service(r, 'http')).add({
    name: 'leader',
    start: (signal) => new Promise((resolve) => {
      signal.addEventListener('abort', () => { aborted = true; resolve({ stop: () => { r.events.push('stop leader'); return Promise.resolve(); } }); });
    }),
  }).add(service(r, 'controller'));
  let term: (s: string) => void = () => undefined;
  const running = r.manager.run(new Promise((res) => { term = res; }));
  await new Promise((res) => setImmediate(res));
  term('SIGTERM');
  assert.equal(await running, 0);
  assert.ok(aborted);
  assert.deepEqual(r.events, ['start http', 'stop leader', 'stop http']);
});

test('shutdown is bounded by the grace period: exit 1 naming what did not stop', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const r = recorder(25_000);
    r.manager.add(service(r, 'http')).add(service(r, 'controller', { stopMs: 60_000 }));
    let term: (s: string) => void = () => undefined;
    const running = r.manager.run(new Promise((res) => { term = res; }));
    await new Promise((res) => setImmediate(res));
    term('SIGTERM');
    await new Promise((res) => setImmediate(res));
    mock.timers.tick(25_000);
    assert.equal(await running, 1);
    assert.deepEqual(r.lines, ['shutdown took longer than 25000 ms (still stopping: controller); exiting']);
    assert.deepEqual(r.events.at(-1), 'stop controller');
  } finally {
    mock.timers.reset();
  }
});
