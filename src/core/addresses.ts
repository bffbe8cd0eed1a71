// Picking the address a client should use: for a Node, a load-balancer ingress entry, and which
// kind of address (hostname or IP) a ListenerClass prefers.
import type { AddressType, ListenerClassSpec } from '../crd/listener-class.ts';
import { LISTENER_CLASS_DEFAULTS } from '../crd/listener-class.ts';
import type { LoadBalancerIngress, Node, NodeAddress } from './kube.ts';

export interface PickedAddress {
  address: string;
  addressType: AddressType;
}

/**
 * The address kind a class asks for. `HostnameConservative` (the default) means IP for NodePort,
 * whose Node hostnames are often not resolvable from outside, and Hostname for the other types.
 */
export function resolvePreferredAddressType(spec: Pick<ListenerClassSpec, 'serviceType' | 'preferredAddressType'>): AddressType {
  const preferred = spec.preferredAddressType ?? LISTENER_CLASS_DEFAULTS.preferredAddressType;
  if (preferred !== 'HostnameConservative') return preferred;
  return spec.serviceType === 'NodePort' ? 'IP' : 'Hostname';
}

/** The preferred kind when there is one, else the other kind, else nothing. */
export function pickAddress(
  candidates: { ip?: string | undefined; hostname?: string | undefined },
  preferred: AddressType,
): PickedAddress | undefined {
  const ip = candidates.ip ? { address: candidates.ip, addressType: 'IP' as const } : undefined;
  const hostname = candidates.hostname ? { address: candidates.hostname, addressType: 'Hostname' as const } : undefined;
  return preferred === 'IP' ? (ip ?? hostname) : (hostname ?? ip);
}

/** The address of one load-balancer ingress entry (which may carry an IP, a hostname or both). */
export function ingressAddress(ingress: LoadBalancerIngress, preferred: AddressType): PickedAddress | undefined {
  return pickAddress({ ip: ingress.ip, hostname: ingress.hostname }, preferred);
}

function nodeAddressList(node: Node): NodeAddress[] {
  return node.status?.addresses ?? [];
}

function firstOfType(addresses: readonly NodeAddress[], type: string, family?: IpFamily): string | undefined {
  return addresses.find((a) => a.type === type && a.address !== '' && (family === undefined || ipFamily(a.address) === family))
    ?.address;
}

type IpFamily = 'IPv4' | 'IPv6';

function ipFamily(address: string): IpFamily {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

/** A Node's IP as clients outside the cluster should see it: its ExternalIP, else its InternalIP. */
function nodeIp(addresses: readonly NodeAddress[], family?: IpFamily): string | undefined {
  return firstOfType(addresses, 'ExternalIP', family) ?? firstOfType(addresses, 'InternalIP', family);
}

/**
 * The one address upstream reports for a Node: its IP (first ExternalIP, else first InternalIP)
 * or its first Hostname address, as preferred, falling back to the other kind.
 */
export function nodeAddress(node: Node, preferred: AddressType): PickedAddress | undefined {
  const addresses = nodeAddressList(node);
  return pickAddress({ ip: nodeIp(addresses), hostname: firstOfType(addresses, 'Hostname') }, preferred);
}

/**
 * Every address a Node contributes: first exactly upstream's `nodeAddress` (so the first address,
 * and with it the volume's `default-address`, never changes), then, on a dual-stack Node whose
 * chosen address is an IP, its IP of the other family (ExternalIP, else InternalIP). A hostname
 * already resolves to both families, so it brings no second address.
 */
export function nodeAddresses(node: Node, preferred: AddressType): PickedAddress[] {
  const first = nodeAddress(node, preferred);
  if (first === undefined) return [];
  if (first.addressType !== 'IP') return [first];
  const otherFamily: IpFamily = ipFamily(first.address) === 'IPv4' ? 'IPv6' : 'IPv4';
  const second = nodeIp(nodeAddressList(node), otherFamily);
  return second === undefined ? [first] : [first, { address: second, addressType: 'IP' }];
}
