// The Listener status: where the Listener can be reached, derived from its class, its applied
// Service and (for NodePort) the Nodes that back it.
import { TOPOLOGY_KEY_HOSTNAME } from '../constants.ts';
import type { AddressType, ListenerClass } from '../crd/listener-class.ts';
import type { ListenerIngress, ListenerStatus } from '../crd/listener.ts';
import { ingressAddress, nodeAddresses, resolvePreferredAddressType, type PickedAddress } from './addresses.ts';
import type { EndpointSlice, Node, PersistentVolume, Service } from './kube.ts';

export interface ListenerStatusInput {
  listenerClass: Pick<ListenerClass, 'spec'>;
  /** The Service as the API server returned it (with clusterIPs, node ports, load-balancer status). */
  service: Service;
  /** The Nodes backing the Listener (see backingNodeNames); only used for NodePort. */
  nodes: readonly Node[];
  /** From KUBERNETES_CLUSTER_DOMAIN, default cluster.local. */
  clusterDomain: string;
}

type PortMap = Record<string, number>;

/** Named Service ports → the number chosen by `pick` (unnamed ports and missing numbers skipped). */
function portMap(service: Service, pick: (p: { port: number; nodePort?: number | undefined }) => number | undefined): PortMap {
  const out: PortMap = {};
  for (const p of service.spec?.ports ?? []) {
    const n = pick(p);
    if (p.name !== undefined && p.name !== '' && n !== undefined) out[p.name] = n;
  }
  return out;
}

function clusterIpAddresses(service: Service, preferred: AddressType, clusterDomain: string): PickedAddress[] {
  const spec = service.spec ?? {};
  const ips = (spec.clusterIPs ?? (spec.clusterIP === undefined ? [] : [spec.clusterIP])).filter(
    (ip) => ip !== '' && ip !== 'None',
  );
  const fqdn = `${service.metadata?.name ?? ''}.${service.metadata?.namespace ?? ''}.svc.${clusterDomain}`;
  // A headless Service has no cluster IP: its name (which resolves to the Pods) is the fallback.
  if (preferred === 'IP' && ips.length > 0) return ips.map((address) => ({ address, addressType: 'IP' }));
  return [{ address: fqdn, addressType: 'Hostname' }];
}

function loadBalancerAddresses(service: Service, preferred: AddressType): PickedAddress[] {
  return (service.status?.loadBalancer?.ingress ?? []).flatMap((ingress) => ingressAddress(ingress, preferred) ?? []);
}

function nodePortAddresses(nodes: readonly Node[], preferred: AddressType): PickedAddress[] {
  const byName = [...nodes].sort((a, b) => compare(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  return byName.flatMap((node) => nodeAddresses(node, preferred));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Drops repeated addresses (several Nodes behind one NAT address), keeping the first. */
function unique(addresses: readonly PickedAddress[]): PickedAddress[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const key = `${a.addressType}/${a.address}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toIngress(addresses: readonly PickedAddress[], ports: PortMap): ListenerIngress[] {
  return unique(addresses).map(({ address, addressType }) => ({ address, addressType, ports: { ...ports } }));
}

/**
 * The status for a Listener, per the type of its class:
 * - ClusterIP: every cluster IP (IP preferred) or the Service's FQDN (Hostname preferred, or no
 *   cluster IP), with the Service ports;
 * - LoadBalancer: one address per load-balancer ingress entry (empty until the load balancer
 *   exists), with the Service ports;
 * - NodePort: the addresses of the backing Nodes (by name), with the node ports, which also go
 *   into `nodePorts`.
 */
export function buildListenerStatus(input: ListenerStatusInput): ListenerStatus {
  const { listenerClass, service, nodes, clusterDomain } = input;
  const preferred = resolvePreferredAddressType(listenerClass.spec);
  const serviceName = service.metadata?.name;
  const servicePorts = portMap(service, (p) => p.port);
  switch (listenerClass.spec.serviceType) {
    case 'ClusterIP':
      return { serviceName, ingressAddresses: toIngress(clusterIpAddresses(service, preferred, clusterDomain), servicePorts) };
    case 'LoadBalancer':
      return { serviceName, ingressAddresses: toIngress(loadBalancerAddresses(service, preferred), servicePorts) };
    case 'NodePort': {
      const nodePorts = portMap(service, (p) => p.nodePort);
      return { serviceName, ingressAddresses: toIngress(nodePortAddresses(nodes, preferred), nodePorts), nodePorts };
    }
  }
}

function pvNodeNames(pv: PersistentVolume): string[] {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.flatMap((term) =>
    (term.matchExpressions ?? [])
      .filter((e) => e.key === TOPOLOGY_KEY_HOSTNAME && e.operator === 'In')
      .flatMap((e) => e.values ?? []),
  );
}

function readyEndpointNodeNames(slice: EndpointSlice): string[] {
  // `ready` unset means ready (EndpointConditions API docs); publishNotReadyAddresses makes it true.
  return (slice.endpoints ?? []).flatMap((e) => (e.conditions?.ready === false || !e.nodeName ? [] : [e.nodeName]));
}

/**
 * The names of the Nodes that back a NodePort Listener, sorted: the Nodes its PVs are pinned to
 * (`listeners.stackable.tech/hostname In [...]` in their node affinity; pass the PVs labelled for
 * the Listener), so the address survives while the Pod is down, united with the Nodes of the
 * ready endpoints (pass the EndpointSlices of its Service), for volumes that are not pinned.
 */
export function backingNodeNames(pvs: readonly PersistentVolume[], endpointSlices: readonly EndpointSlice[]): string[] {
  const names = new Set([...pvs.flatMap(pvNodeNames), ...endpointSlices.flatMap(readyEndpointNodeNames)]);
  return [...names].sort(compare);
}
