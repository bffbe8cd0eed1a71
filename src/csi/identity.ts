// CSI Identity, served by both the controller and the node plugin: the plugin name and version,
// the plugin capabilities (a Controller service; volumes with accessibility constraints, which is
// how pinned NodePort volumes are tied to their Node), and Probe.

import { DRIVER_NAME } from '../constants.ts';
import { VERSION } from '../version.ts';
import { ok } from './result.ts';
import type { IdentityImpl } from './server.ts';

export function identityService(): IdentityImpl {
  return {
    GetPluginInfo: () => ok({ name: DRIVER_NAME, vendor_version: VERSION, manifest: {} }),
    GetPluginCapabilities: () =>
      ok({
        capabilities: [
          { service: { type: 'CONTROLLER_SERVICE' } },
          { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
        ],
      }),
    // Ready as soon as the socket serves: every RPC reads what it needs from the API server itself.
    Probe: () => ok({ ready: { value: true } }),
  };
}
