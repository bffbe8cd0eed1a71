// The CSI gRPC server on its Unix domain socket: socket handling, the one funnel every RPC goes
// through, and shutdown. The services themselves (identity.ts, controller-service.ts,
// node-service.ts) are plain functions returning a Result; they never see grpc-js.
//
// Socket: a stale socket at the endpoint is removed first. The new socket is bound inside a fresh
// private directory (mkdtemp: mode 0700) next to the endpoint, chmod-ed to 0600 there, and only
// then renamed onto the endpoint path. Nobody but the owner can reach it while it still has the
// umask's wider mode, and it appears at the endpoint already 0600: no window where it is wider,
// and no process-wide umask change (which would also narrow the files the node service writes).
// On close, the socket is removed if it is still ours (same inode and change time).
//
// Funnel: every RPC is logged (method, volume id / name / target path, duration, code); a typed
// error becomes its gRPC status through toGrpcStatus; anything thrown becomes INTERNAL with the
// cause chain; a method the driver does not implement answers UNIMPLEMENTED. Each handler gets a
// signal that aborts when the call's deadline passes or the caller cancels it: the handler passes
// it to its API requests, so a call the caller has given up on stops at once instead of running
// on (and writing) behind the caller's back, possibly next to the caller's retry. Services not served
// at all (Controller on the node plugin, GroupController, SnapshotMetadata) get grpc-js's own
// UNIMPLEMENTED.

import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { chmod, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spanLogger, type Logger } from '../cli/log.ts';
import { DRIVER_NAME } from '../constants.ts';
import { formatCauseChain, toGrpcStatus, type CsiError } from './errors.ts';
import { readFileSync } from 'node:fs';
import { CSI_DESCRIPTOR_SET_FILE, PROTO_DIR, loadCsiPackageDefinition, reflectionDefinition, type CsiProto } from './proto/load.ts';
import type { ControllerHandlers } from './proto/generated/csi/v1/Controller.ts';
import type { IdentityHandlers } from './proto/generated/csi/v1/Identity.ts';
import type { NodeHandlers } from './proto/generated/csi/v1/Node.ts';
import type { Result } from './result.ts';
import { NOOP_TRACER, type Tracer } from '../util/trace.ts';

/** What a service method gets besides the request. */
export interface RpcContext {
  /** A child logger carrying the RPC name and the request's volume id / name / target path. */
  readonly log: Logger;
  /** Aborts at the call's deadline or when the caller cancels it: pass it to every API request. */
  readonly signal: AbortSignal;
}

/** One RPC's implementation: the decoded request in, a response or a typed error out. */
export type RpcHandler<Req, Res> = (request: Req, ctx: RpcContext) => Promise<Result<Res, CsiError>> | Result<Res, CsiError>;

/** The method names of a generated handler interface (without its index signature). */
type MethodName<H> = keyof { [K in keyof H as string extends K ? never : K]: H[K] } & string;

/** A partial service: the methods left out answer UNIMPLEMENTED. */
export type ServiceImpl<H> = {
  [K in MethodName<H>]?: H[K] extends grpc.handleUnaryCall<infer Req, infer Res> ? RpcHandler<Req, Res> : never;
};

export type IdentityImpl = ServiceImpl<IdentityHandlers>;
export type ControllerImpl = ServiceImpl<ControllerHandlers>;
export type NodeImpl = ServiceImpl<NodeHandlers>;

export interface CsiServices {
  readonly identity: IdentityImpl;
  readonly controller?: ControllerImpl | undefined;
  readonly node?: NodeImpl | undefined;
}

export interface CsiServerOptions {
  /** Path of the Unix socket (a `unix://` prefix is accepted). */
  readonly endpoint: string;
  readonly services: CsiServices;
  readonly log: Logger;
  /** How long close() lets in-flight RPCs finish before cancelling them. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** A span per RPC, the parent of its API requests' spans (default: none). */
  readonly tracer?: Tracer | undefined;
  /** Every RPC answered (metrics): the full method name (`/csi.v1.Node/NodePublishVolume`), the code's name, the duration. */
  readonly onCall?: ((method: string, code: string, seconds: number) => void) | undefined;
}

/** What every RPC of a server shares. */
interface Funnel {
  readonly log: Logger;
  readonly tracer: Tracer;
  readonly onCall: (method: string, code: string, seconds: number) => void;
}

export interface CsiServer {
  /** The socket path. */
  readonly endpoint: string;
  /** Stops accepting RPCs, lets in-flight ones finish (up to the grace period), removes the socket. */
  close(): Promise<void>;
}

/** Longest path a Unix socket address can hold on Linux (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;
const SOCKET_MODE = 0o600;

/** Starts the gRPC server and resolves once it accepts connections on `endpoint`. */
export async function startCsiServer(opts: CsiServerOptions): Promise<CsiServer> {
  const endpoint = opts.endpoint.replace(/^unix:\/\//, '');
  const log = opts.log;
  const definition = loadCsiPackageDefinition();
  const proto = (grpc.loadPackageDefinition(definition) as unknown as CsiProto).csi.v1;
  const server = new grpc.Server();
  // Server reflection (grpc.reflection.v1 and v1alpha), as upstream serves it: `grpcurl -unix
  // <socket> list` and `describe` work without the .proto file. It serves the descriptors compiled
  // from csi.proto (proto/csi.protoset, `npm run gen:proto`): the ones proto-loader derives at run
  // time lack the files' dependencies and misdescribe descriptor.proto (grpc/grpc-node#2958).
  new ReflectionService(reflectionDefinition(readFileSync(join(PROTO_DIR, CSI_DESCRIPTOR_SET_FILE)))).addToServer(server);
  const f: Funnel = { log, tracer: opts.tracer ?? NOOP_TRACER, onCall: opts.onCall ?? ((): void => undefined) };
  server.addService(proto.Identity.service, funnel('Identity', proto.Identity.service, opts.services.identity, f));
  if (opts.services.controller !== undefined) {
    server.addService(proto.Controller.service, funnel('Controller', proto.Controller.service, opts.services.controller, f));
  }
  if (opts.services.node !== undefined) {
    server.addService(proto.Node.service, funnel('Node', proto.Node.service, opts.services.node, f));
  }
  let identity: SocketIdentity;
  try {
    identity = await listenPrivately(server, endpoint, log);
  } catch (e) {
    server.forceShutdown();
    throw new Error(`cannot listen on the CSI socket ${endpoint}`, { cause: e });
  }
  const served = ['Identity', ...(opts.services.controller ? ['Controller'] : []), ...(opts.services.node ? ['Node'] : [])];
  log.info({ endpoint, services: served }, 'CSI server listening');
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    close: () => {
      closing ??= shutdown(server, endpoint, identity, opts.shutdownGraceMs ?? 10_000, log);
      return closing;
    },
  };
}

// ---- the funnel ----------------------------------------------------------------------------------

type AnyHandler = (request: unknown, ctx: RpcContext) => Promise<Result<unknown, CsiError>> | Result<unknown, CsiError>;

/** Methods probed every few seconds (liveness probe, registrar): logged at debug level only. */
const QUIET_METHODS = new Set(['Probe', 'GetPluginInfo', 'GetPluginCapabilities', 'NodeGetInfo', 'NodeGetCapabilities', 'ControllerGetCapabilities']);

function funnel(serviceName: string, definition: grpc.ServiceDefinition, impl: object, f: Funnel): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [method, def] of Object.entries(definition)) {
    if (def.requestStream || def.responseStream) continue; // no streaming RPC is served (grpc-js answers UNIMPLEMENTED)
    const handler = Object.hasOwn(impl, method) ? (impl as Record<string, AnyHandler | undefined>)[method] : undefined;
    handlers[method] = unary({ service: serviceName, method, path: def.path }, handler, f);
  }
  return handlers;
}

/** The span attributes of a call (OpenTelemetry's RPC conventions, and the volume). */
function rpcAttributes(m: { service: string; method: string }, fields: Record<string, string>): Record<string, string> {
  return {
    'rpc.system': 'grpc', 'rpc.service': `csi.v1.${m.service}`, 'rpc.method': m.method,
    ...(fields.volumeId === undefined ? {} : { 'csi.volume_id': fields.volumeId }),
    ...(fields.volumeName === undefined ? {} : { 'csi.name': fields.volumeName }),
    ...(fields.targetPath === undefined ? {} : { 'csi.target_path': fields.targetPath }),
  };
}

function unary(m: { service: string; method: string; path: string }, handler: AnyHandler | undefined, f: Funnel): grpc.handleUnaryCall<unknown, unknown> {
  const rpc = `${m.service}.${m.method}`;
  const quiet = QUIET_METHODS.has(m.method);
  return (call, callback) => {
    const started = performance.now();
    const fields = requestFields(call.request);
    const rpcLog = spanLogger(f.log, rpc, fields);
    const answer = (code: grpc.status, details: string, response?: unknown): void => {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      if (code === grpc.status.OK) {
        if (quiet) rpcLog.debug({ ms }, 'RPC succeeded');
        else rpcLog.info({ ms }, 'RPC succeeded');
        callback(null, response);
        return;
      }
      const failure = { ms, code: grpc.status[code], details };
      if (code === grpc.status.INTERNAL) rpcLog.error(failure, 'RPC failed');
      else rpcLog.warn(failure, 'RPC failed');
      callback(Object.assign(new Error(details), { code, details }));
    };
    void f.tracer.inSpan(`csi.v1.${m.service}/${m.method}`, { target: 'listener_operator::csi', level: quiet ? 'debug' : 'info', kind: 'server', attributes: rpcAttributes(m, fields) }, (span) => new Promise<void>((settled) => {
      const done = (code: grpc.status, details: string, response?: unknown): void => {
        span.setAttributes({ 'rpc.grpc.status_code': code });
        if (code !== grpc.status.OK) span.fail(`${grpc.status[code]}: ${details}`);
        f.onCall(m.path, grpc.status[code], (performance.now() - started) / 1000);
        answer(code, details, response);
        settled();
      };
      serve(rpc, handler, call, rpcLog, done);
    }));
  };
}

type Done = (code: grpc.status, details: string, response?: unknown) => void;

/** Runs the handler (in the caller's span) and reports its outcome to `done`, exactly once. */
function serve(rpc: string, handler: AnyHandler | undefined, call: grpc.ServerUnaryCall<unknown, unknown>, rpcLog: Logger, done: Done): void {
  if (handler === undefined) {
    done(grpc.status.UNIMPLEMENTED, `${rpc} is not implemented by the ${DRIVER_NAME} CSI driver`);
    return;
  }
  rpcLog.debug('RPC started');
  const ended = callEnded(call);
  void (async (): Promise<void> => {
    try {
      const outcome = await handler(call.request, { log: rpcLog, signal: ended.signal });
      if (outcome.ok) {
        done(grpc.status.OK, '', outcome.value);
      } else {
        const s = toGrpcStatus(outcome.error);
        done(s.code, s.details);
      }
    } catch (e) {
      done(grpc.status.INTERNAL, `unexpected error in ${rpc}: ${formatCauseChain(e) || 'unknown error'}`);
    } finally {
      ended.dispose();
    }
  })();
}

/** A signal that aborts when the call's deadline passes or the caller cancels the call. */
function callEnded(call: grpc.ServerUnaryCall<unknown, unknown>): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onCancelled = (): void => { controller.abort(new Error('the caller cancelled the call')); };
  call.on('cancelled', onCancelled);
  const deadline = call.getDeadline();
  const remaining = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
  // grpc-js answers DEADLINE_EXCEEDED by itself, but does not tell the handler: this timer does.
  const timer = Number.isFinite(remaining)
    ? setTimeout(() => { controller.abort(new Error('the call\'s deadline passed')); }, Math.max(0, remaining))
    : undefined;
  if (call.cancelled) onCancelled();
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      call.off('cancelled', onCancelled);
    },
  };
}

/** The fields worth a log line (never secrets, never the whole request). */
function requestFields(request: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof request !== 'object' || request === null) return out;
  const r = request as Record<string, unknown>;
  for (const [field, key] of [['volume_id', 'volumeId'], ['name', 'volumeName'], ['target_path', 'targetPath']] as const) {
    const v = r[field];
    if (typeof v === 'string' && v !== '') out[key] = v.length > 300 ? `${v.slice(0, 300)}…` : v;
  }
  return out;
}

// ---- the socket ----------------------------------------------------------------------------------

/**
 * Which socket file is ours: its inode and change time. (An inode number alone can be reused at
 * once by a successor's socket after ours is removed; the change time tells them apart.)
 */
interface SocketIdentity {
  readonly ino: number;
  readonly ctimeMs: number;
}

/** Binds `server` so that `endpoint` appears already owner-only. */
async function listenPrivately(server: grpc.Server, endpoint: string, log: Logger): Promise<SocketIdentity> {
  if (!endpoint.startsWith('/')) throw new Error(`the CSI endpoint must be an absolute path, got ${JSON.stringify(endpoint)}`);
  if (Buffer.byteLength(endpoint) > MAX_SOCKET_PATH_BYTES) throw new Error(`the socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  const dir = dirname(endpoint);
  await mkdir(dir, { recursive: true });
  await removeStaleSocket(endpoint, log);
  const privateDir = await mkdtemp(join(dir, '.csi-')); // mode 0700
  try {
    const temp = join(privateDir, 's');
    if (Buffer.byteLength(temp) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`the directory of the socket path is too long to bind next to it (${temp})`);
    }
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${temp}`, grpc.ServerCredentials.createInsecure(), (error) => {
        if (error === null) resolve();
        else reject(error);
      });
    });
    await chmod(temp, SOCKET_MODE);
    await rename(temp, endpoint);
    const { ino, ctimeMs } = await lstat(endpoint);
    return { ino, ctimeMs };
  } finally {
    await rm(privateDir, { recursive: true, force: true });
  }
}

/** A socket left by a previous run is removed; anything else at the path is an error. */
async function removeStaleSocket(endpoint: string, log: Logger): Promise<void> {
  const stat = await lstat(endpoint).catch((e: unknown) => {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (stat === undefined) return;
  if (!stat.isSocket()) throw new Error(`${endpoint} exists and is not a socket; refusing to replace it`);
  await rm(endpoint, { force: true });
  log.info({ endpoint }, 'Removed a stale CSI socket');
}

async function shutdown(server: grpc.Server, endpoint: string, ours: SocketIdentity, graceMs: number, log: Logger): Promise<void> {
  log.info('CSI server shutting down');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn({ graceMs }, 'CSI RPCs still running after the grace period; cancelling them');
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  // Only our own socket: a successor may already have replaced it.
  const stat = await lstat(endpoint).catch(() => undefined);
  if (stat?.isSocket() === true && stat.ino === ours.ino && stat.ctimeMs === ours.ctimeMs) await rm(endpoint, { force: true });
  log.info('CSI server stopped');
}
