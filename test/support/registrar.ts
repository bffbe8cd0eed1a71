// A stand-in for the csi-node-driver-registrar sidecar, for the e2e tier only: the sidecar's Go
// module cannot be fetched on these machines (the module proxy answers 403 for
// github.com/kubernetes-csi/node-driver-registrar at every version, tag or commit), so this does
// exactly what it does in its default mode, with the same flags:
//   1. connect to the driver's CSI socket (--csi-address) and ask GetPluginInfo for its name,
//      retrying until the driver answers;
//   2. serve kubelet's plugin registration API (pluginregistration v1: GetInfo,
//      NotifyRegistrationStatus) on <--plugin-registration-path>/<driver>-reg.sock, created
//      owner-only, answering type CSIPlugin, the driver name, endpoint
//      --kubelet-registration-path and supported version 1.0.0;
//   3. exit non-zero when kubelet reports a failed registration (so it is restarted), and on
//      SIGTERM remove the socket and exit 0 (kubelet then deregisters the driver).
// kubelet does the rest itself, as with the real sidecar: it calls NodeGetInfo on the endpoint,
// writes the CSINode driver entry (with topology keys) and the csi.volume.kubernetes.io/nodeid
// annotation.
//
//   node test/support/registrar.ts --csi-address=PATH --kubelet-registration-path=PATH \
//     --plugin-registration-path=DIR
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCsiProto } from '../../src/csi/proto/load.ts';

const { values } = parseArgs({
  options: {
    'csi-address': { type: 'string' },
    'kubelet-registration-path': { type: 'string' },
    'plugin-registration-path': { type: 'string', default: '/registration' },
    timeout: { type: 'string', default: '1s' },
  },
});
const csiAddress = values['csi-address'] ?? '/run/csi/socket';
const kubeletRegistrationPath = values['kubelet-registration-path'];
const registrationDir = values['plugin-registration-path'];
const SUPPORTED_VERSIONS = ['1.0.0'];

function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), msg, ...fields })}\n`);
}

if (kubeletRegistrationPath === undefined || kubeletRegistrationPath === '') {
  log('kubelet-registration-path is a required parameter');
  process.exit(1);
}

async function driverName(): Promise<string> {
  const csi = loadCsiProto().csi.v1;
  const target = csiAddress.startsWith('unix:') ? csiAddress : `unix:${csiAddress}`;
  for (let attempt = 1; ; attempt++) {
    const client = new csi.Identity(target, grpc.credentials.createInsecure());
    try {
      const name = await new Promise<string>((resolve, reject) => {
        client.GetPluginInfo({}, { deadline: Date.now() + 1000 }, (err, res) => {
          if (err !== null) reject(err);
          else resolve(res?.name ?? '');
        });
      });
      if (name === '') throw new Error('GetPluginInfo returned an empty name');
      return name;
    } catch (e) {
      if (attempt === 1 || attempt % 10 === 0) log('waiting for the CSI driver', { csiAddress, attempt, error: e instanceof Error ? e.message : String(e) });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      client.close();
    }
  }
}

interface RegistrationStatus { plugin_registered: boolean; error: string }

const name = await driverName();
log('CSI driver name', { csiDriverName: name });

const def = protoLoader.loadSync(path.join(import.meta.dirname, 'pluginregistration.proto'), { keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as unknown as { pluginregistration: { Registration: grpc.ServiceClientConstructor } };
const server = new grpc.Server();
server.addService(pkg.pluginregistration.Registration.service, {
  GetInfo: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    log('Received GetInfo call');
    cb(null, { type: 'CSIPlugin', name, endpoint: kubeletRegistrationPath, supported_versions: SUPPORTED_VERSIONS });
  },
  NotifyRegistrationStatus: (call: grpc.ServerUnaryCall<RegistrationStatus, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    log('Received NotifyRegistrationStatus call', { status: call.request });
    cb(null, {});
    if (!call.request.plugin_registered) {
      log('Registration process failed with error, restarting registration container', { error: call.request.error });
      setTimeout(() => process.exit(1), 100);
    }
  },
});

const socketPath = path.join(registrationDir, `${name}-reg.sock`);
await rm(socketPath, { force: true });
const oldMask = process.umask(0o077); // the socket is owner-only from its creation on
try {
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => { if (err !== null) reject(err); else resolve(); });
  });
} finally {
  process.umask(oldMask);
}
log('Registration Server started', { socketPath });

process.on('SIGTERM', () => {
  void rm(socketPath, { force: true }).then(() => { process.exit(0); });
});
