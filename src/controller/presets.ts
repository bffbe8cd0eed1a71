// Creates the preset ListenerClasses at start if they are missing. Create-only: an administrator's
// edits to an existing class are never overwritten.
import type { Logger } from 'pino';
import { presetClasses, type ListenerClassPreset as Preset } from '../core/presets.ts';
import { ApiError, type KubeClient } from '../k8s/client.ts';
import { LISTENER_CLASSES, at } from '../k8s/resources.ts';

export async function ensurePresetClasses(client: KubeClient, preset: Preset, log: Logger, signal?: AbortSignal): Promise<void> {
  let backoff = 250;
  for (const cls of presetClasses(preset)) {
    for (;;) {
      try {
        await client.create(at(LISTENER_CLASSES, undefined), cls);
        log.info({ listenerClass: cls.metadata.name, preset }, 'Created preset ListenerClass');
        break;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) break; // exists: leave it as the admin has it
        if (signal?.aborted === true) return;
        // 404: the CRD is not installed (or not yet established); wait for it.
        log.info({ err: e instanceof Error ? e.message : String(e) }, 'Waiting to create preset ListenerClasses');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }
}
