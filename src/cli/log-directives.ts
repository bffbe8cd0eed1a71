// Log level directives as upstream reads them from CONSOLE_LOG_LEVEL and FILE_LOG_LEVEL (tracing's
// EnvFilter syntax): a default level, and/or comma-separated `target=level` pairs, e.g. `info`,
// `warn,listener_operator::controller=debug`, `info,listener=debug`. As in tracing, a target
// matches every component whose name starts with it, and the longest matching target wins.
//
// The targets are our components (LOG_TARGETS). Upstream's own crate names are accepted for the
// component that does the same work (TARGET_ALIASES), so directives written for upstream keep
// working. Anything else (another crate's name, span filters, an unknown level) is an error: a
// directive we cannot honour is never silently ignored.

export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'off'] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

/** Every component that logs, by its target name (printed with each line). */
export const LOG_TARGETS = [
  'listener_operator', // start-up, shutdown, the lifecycle of the components
  'listener_operator::controller', // Listener reconciles, caches, presets
  'listener_operator::csi', // the CSI server and its services
  'listener_operator::kube', // the API client, informers, leader election, cluster domain
  'listener_operator::webhook', // the conversion webhook and its certificates
  'listener_operator::maintenance', // CRD maintenance, end-of-support checks
  'listener_operator::http', // health and metrics
  'listener_operator::olm_deployer', // the olm-deployer command
] as const;
export type LogTarget = (typeof LOG_TARGETS)[number];

/** Upstream's crate names (Rust module paths) and the component of ours that does their work. */
const TARGET_ALIASES: Readonly<Record<string, string>> = {
  stackable_listener_operator: 'listener_operator',
  stackable_listener_operator_olm_deployer: 'listener_operator::olm_deployer',
  'stackable_listener_operator::listener_controller': 'listener_operator::controller',
  'stackable_listener_operator::csi_server': 'listener_operator::csi',
  stackable_operator: 'listener_operator::kube',
  kube: 'listener_operator::kube',
  kube_client: 'listener_operator::kube',
  kube_runtime: 'listener_operator::kube',
  stackable_webhook: 'listener_operator::webhook',
  tonic: 'listener_operator::csi',
};

export interface LogDirectives {
  /** The level of targets no directive names. */
  readonly defaultLevel: LogLevelName;
  /** target prefix → level. */
  readonly targets: ReadonlyMap<string, LogLevelName>;
}

export type DirectivesResult = { ok: true; value: LogDirectives } | { ok: false; error: string };

function parseLevel(text: string): LogLevelName | undefined {
  const lower = text.toLowerCase();
  return (LOG_LEVEL_NAMES as readonly string[]).includes(lower) ? (lower as LogLevelName) : undefined;
}

function resolveTarget(target: string): string | undefined {
  if (target === '') return undefined;
  if (Object.hasOwn(TARGET_ALIASES, target)) return TARGET_ALIASES[target];
  return LOG_TARGETS.some((t) => t.startsWith(target)) ? target : undefined;
}

const ACCEPTED = `a level (${LOG_LEVEL_NAMES.join(', ')}) and/or comma-separated target=level pairs; targets: ${LOG_TARGETS.join(', ')} (or a prefix of one, or upstream's ${Object.keys(TARGET_ALIASES).join(', ')})`;

/**
 * Parses a directive string; `fallback` is the default level when the string sets none (upstream:
 * info). An empty string is the fallback alone.
 */
export function parseLogDirectives(text: string, fallback: LogLevelName = 'info'): DirectivesResult {
  let defaultLevel = fallback;
  const targets = new Map<string, LogLevelName>();
  for (const raw of text.split(',')) {
    const directive = raw.trim();
    if (directive === '') continue;
    const fail = (why: string): DirectivesResult => ({ ok: false, error: `${JSON.stringify(directive)} ${why}; accepted: ${ACCEPTED}` });
    if (/[[\]{}]/.test(directive)) return fail('uses span filters, which are not supported');
    const eq = directive.lastIndexOf('=');
    if (eq < 0) {
      const level = parseLevel(directive);
      if (level !== undefined) {
        defaultLevel = level;
        continue;
      }
      // tracing reads a bare target as "everything from it": `listener_operator::csi` = trace.
      const target = resolveTarget(directive);
      if (target === undefined) return fail('is neither a level nor one of our targets');
      targets.set(target, 'trace');
      continue;
    }
    const level = parseLevel(directive.slice(eq + 1).trim());
    if (level === undefined) return fail('has no valid level after "="');
    const name = directive.slice(0, eq).trim();
    const target = resolveTarget(name);
    if (target === undefined) return fail(`names the target ${JSON.stringify(name)}, which is none of ours`);
    targets.set(target, level);
  }
  return { ok: true, value: { defaultLevel, targets } };
}

/** The level that applies to `target`: the longest directive target it starts with, else the default. */
export function levelFor(d: LogDirectives, target: string): LogLevelName {
  let best: { length: number; level: LogLevelName } | undefined;
  for (const [prefix, level] of d.targets) {
    if (target.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = { length: prefix.length, level };
  }
  return best?.level ?? d.defaultLevel;
}
