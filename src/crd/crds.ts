// The three CustomResourceDefinitions, generated from the schemas (`<binary> crd`, Helm chart).
import { stringify } from 'yaml';
import { API_GROUP, API_VERSION } from '../constants.ts';
import { toStructuralSchema, type JsonObject } from './schema-kit.ts';
import { LISTENER_CLASS_KIND, ListenerClassCrdSchema } from './listener-class.ts';
import { LISTENER_KIND, ListenerCrdSchema } from './listener.ts';
import { POD_LISTENERS_KIND, PodListenersCrdSchema } from './pod-listeners.ts';

interface PrinterColumn {
  name: string;
  type: 'string' | 'date';
  jsonPath: string;
  description: string;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  scope: 'Cluster' | 'Namespaced';
  schema: unknown;
  statusSubresource: boolean;
  printerColumns: PrinterColumn[];
}

// Listing columns replace kubectl's default Age column, so it is added back explicitly.
const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};

const CRD_INPUTS: readonly CrdInput[] = [
  {
    kind: LISTENER_CLASS_KIND,
    plural: 'listenerclasses',
    singular: 'listenerclass',
    scope: 'Cluster',
    schema: ListenerClassCrdSchema,
    statusSubresource: false,
    printerColumns: [
      { name: 'Service Type', type: 'string', jsonPath: '.spec.serviceType', description: 'Type of the Services.' },
      AGE_COLUMN,
    ],
  },
  {
    kind: LISTENER_KIND,
    plural: 'listeners',
    singular: 'listener',
    scope: 'Namespaced',
    schema: ListenerCrdSchema,
    statusSubresource: true,
    printerColumns: [
      { name: 'Class', type: 'string', jsonPath: '.spec.className', description: 'The ListenerClass.' },
      { name: 'Service', type: 'string', jsonPath: '.status.serviceName', description: 'The backing Service.' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the Listener can be reached.' },
      {
        name: 'Address',
        type: 'string',
        jsonPath: '.status.ingressAddresses[0].address',
        description: 'The first (default) address.',
      },
      AGE_COLUMN,
    ],
  },
  {
    kind: POD_LISTENERS_KIND,
    plural: 'podlisteners',
    singular: 'podlisteners',
    scope: 'Namespaced',
    schema: PodListenersCrdSchema,
    statusSubresource: false,
    printerColumns: [],
  },
];

function buildCrd(input: CrdInput): JsonObject {
  const version: JsonObject = {
    name: API_VERSION,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: toStructuralSchema(input.schema) },
    subresources: input.statusSubresource ? { status: {} } : {},
  };
  if (input.printerColumns.length > 0) version.additionalPrinterColumns = input.printerColumns;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${input.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: { kind: input.kind, listKind: `${input.kind}List`, plural: input.plural, singular: input.singular },
      scope: input.scope,
      versions: [version],
    },
  };
}

/** The CRDs of ListenerClass, Listener and PodListeners (apiextensions.k8s.io/v1), in that order. */
export function buildCrds(): JsonObject[] {
  return CRD_INPUTS.map(buildCrd);
}

/** The CRDs as one multi-document YAML stream. */
export function crdsYaml(): string {
  return buildCrds()
    .map((crd) => `---\n${stringify(crd, { lineWidth: 0 })}`)
    .join('');
}
