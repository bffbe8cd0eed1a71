// Loads the CSI v1 protocol (proto/csi.proto at the repository root) for @grpc/grpc-js, typed by
// the code generated from the same file (`npm run gen:proto`, into ./generated/).
//
// The options below must describe the same shapes as the generator flags in package.json
// (`gen:proto`): load.test.ts checks that they agree, so the generated types never lie about the
// objects grpc-js hands to the handlers.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './generated/csi.ts';

/** Directory holding csi.proto: `<repo>/proto`, both from src/csi/proto and dist/csi/proto. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

export const CSI_PROTO_FILE = 'csi.proto';

/**
 * proto-loader options, mirroring `proto-loader-gen-types --keepCase --longs=String
 * --enums=String --defaults --oneofs`: snake_case field names as in the CSI spec, 64-bit
 * integers as decimal strings, enums as their names, every scalar/repeated/map field present
 * with its default, and the virtual oneof field naming the member that is set.
 * google/protobuf/{descriptor,wrappers,timestamp}.proto come built in with proto-loader.
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
} satisfies protoLoader.Options;

/** The package definition of csi.proto (for grpc-js servers, reflection or clients). */
export function loadCsiPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(CSI_PROTO_FILE, PROTO_LOADER_OPTIONS);
}

/** The typed gRPC object tree: `loadCsiProto().csi.v1.Node.service` etc. */
export function loadCsiProto(): ProtoGrpcType {
  return grpc.loadPackageDefinition(loadCsiPackageDefinition()) as unknown as ProtoGrpcType;
}
