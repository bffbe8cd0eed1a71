// Creates the preset ListenerClasses when they are missing. Create-only: an administrator's edits
// to an existing class are never overwritten.
//
// It runs beside the controller and never holds it up. A 404 means the API server does not serve
// ListenerClasses yet (the CRDs are being installed: by us, or, with CRD maintenance off, by an
// administrator): it waits and tries again. A refusal that waiting cannot fix (403 Forbidden,
// 422 Invalid, 400) is logged and published as an event naming the class and the reason, and
// that class is skipped. Anything else (the API server unreachable, 5xx) is retried with backoff.
import type { Logger } from 'pino';
import { API_GROUP, GROUP_VERSION } from '../constants.ts';
import { presetClasses, type ListenerClassPreset as Preset } from '../core/presets.ts';
import { ApiError, type KubeClient } from '../k8s/client.ts';
import type { EventRecorder } from '../k8s/events.ts';
import { LISTENER_CLASSES, at } from '../k8s/resources.ts';
import { sleep } from '../util/sleep.ts';

export interface PresetOptions {
  client: KubeClient;
  preset: Preset;
  log: Logger;
  events?: EventRecorder | undefined;
  signal?: AbortSignal | undefined;
}

export type PresetOutcome = 'created' | 'existed' | 'refused' | 'stopped';

const isFinalRefusal = (e: unknown): e is ApiError => e instanceof ApiError && (e.status === 400 || e.status === 403 || e.status === 422);

/** Creates every class of the preset that is missing; resolves with what happened to each. */
export async function ensurePresetClasses(o: PresetOptions): Promise<Record<string, PresetOutcome>> {
  const outcomes: Record<string, PresetOutcome> = {};
  for (const cls of presetClasses(o.preset)) {
    outcomes[cls.metadata.name ?? ''] = await ensureClass(o, cls);
  }
  return outcomes;
}

async function ensureClass(o: PresetOptions, cls: ReturnType<typeof presetClasses>[number]): Promise<PresetOutcome> {
  const name = cls.metadata.name ?? '';
  let backoff = 250;
  let waitingLogged = false;
  for (;;) {
    if (o.signal?.aborted === true) return 'stopped';
    try {
      await o.client.create(at(LISTENER_CLASSES, undefined), cls, { signal: o.signal });
      o.log.info({ listenerClass: name, preset: o.preset }, 'Created preset ListenerClass');
      return 'created';
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) return 'existed'; // leave it as the admin has it
      if (isFinalRefusal(e)) {
        await report(o, name, e);
        return 'refused';
      }
      if (!waitingLogged) {
        const why = e instanceof ApiError && e.status === 404 ? 'the API server does not serve ListenerClasses yet (CRDs not installed)' : (e instanceof Error ? e.message : String(e));
        o.log.info({ listenerClass: name, reason: why }, 'Waiting to create preset ListenerClass');
        waitingLogged = true;
      }
      await sleep(backoff, o.signal);
      backoff = Math.min(backoff * 2, 10_000);
    }
  }
}

async function report(o: PresetOptions, name: string, e: ApiError): Promise<void> {
  const note = `Preset ListenerClass ${name} (preset ${o.preset}) was refused by the API server: ${e.message}`;
  o.log.error({ listenerClass: name, status: e.status, reason: e.reason }, note);
  const failed = await o.events?.publish(
    { apiVersion: GROUP_VERSION, kind: 'ListenerClass', name, namespace: 'default' },
    { type: 'Warning', reason: 'PresetRefused', action: 'CreatePreset', note },
  );
  if (failed !== undefined) o.log.warn({ listenerClass: name, err: failed.message, group: API_GROUP }, 'Publishing an event failed');
}
