// The Service ports of a Listener: de-duplicated as upstream does, then checked against the rules
// the API server applies to Service ports, so that a bad Listener gets a clear message naming the
// port instead of a rejected apply.
import type { ListenerPort } from '../crd/listener.ts';
import { isDns1123Label } from './names.ts';

export interface ServicePortSpec {
  name: string;
  port: number;
  protocol: string;
}

export const SERVICE_PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];
const DEFAULT_PROTOCOL = 'TCP';

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The Listener's ports as Service ports, de-duplicated by (protocol, name) with the *last* entry
 * winning and sorted by protocol, then name, exactly as upstream (which collects them into an
 * ordered map). An unset protocol is written as TCP, the API server's default, so that
 * `{http, TCP}` and `{http, unset}` are one port (upstream would emit both and be rejected), and
 * so that server-side apply sees the full key (port, protocol) of every entry.
 */
export function buildServicePorts(ports: readonly ListenerPort[] | null | undefined): ServicePortSpec[] {
  const byKey = new Map<string, ServicePortSpec>();
  for (const p of ports ?? []) {
    const protocol = p.protocol ?? DEFAULT_PROTOCOL;
    byKey.set(JSON.stringify([protocol, p.name]), { name: p.name, port: p.port, protocol });
  }
  return [...byKey.values()].sort((a, b) => compare(a.protocol, b.protocol) || compare(a.name, b.name));
}

function describePort(p: ServicePortSpec): string {
  return `port "${p.name}" (${p.port}/${p.protocol})`;
}

function portProblems(p: ServicePortSpec): string[] {
  const problems: string[] = [];
  if (!isDns1123Label(p.name)) {
    problems.push(`${describePort(p)}: the name must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`);
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    problems.push(`${describePort(p)}: the port number must be between 1 and 65535`);
  }
  if (!SERVICE_PROTOCOLS.includes(p.protocol)) {
    problems.push(`${describePort(p)}: the protocol must be one of ${SERVICE_PROTOCOLS.join(', ')}`);
  }
  return problems;
}

/**
 * What the API server would reject in these (de-duplicated) Service ports, one message per
 * problem: invalid names, numbers or protocols, a name used twice (with different protocols), or
 * a (port, protocol) pair used twice. Empty when the ports are fine.
 */
export function validateServicePorts(ports: readonly ServicePortSpec[]): string[] {
  const problems = ports.flatMap(portProblems);
  const names = new Map<string, ServicePortSpec>();
  const numbers = new Map<string, ServicePortSpec>();
  for (const p of ports) {
    const sameName = names.get(p.name);
    if (sameName !== undefined) problems.push(`${describePort(p)}: the name is also used by ${describePort(sameName)}; port names must be unique`);
    else names.set(p.name, p);
    const numberKey = `${p.port}/${p.protocol}`;
    const sameNumber = numbers.get(numberKey);
    if (sameNumber !== undefined) problems.push(`${describePort(p)}: ${numberKey} is also exposed by ${describePort(sameNumber)}`);
    else numbers.set(numberKey, p);
  }
  return problems;
}
