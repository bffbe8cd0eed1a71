// What one fault run reports: the Listeners' health after it (converged of total; Services lost,
// duplicated, orphaned), the volumes' (consistent of total), how long convergence took after the
// fault ended, a few figures particular to the fault, and every violation of what must hold.
import type { Health } from '../lib/listeners.ts';
import type { World } from '../lib/world.ts';

export interface FaultResult {
  fault: string;
  /** What was done, in a sentence (the report's second column). */
  what: string;
  expected?: number | undefined;
  health?: Health | undefined;
  volumes?: { total: number; consistent: number; leftovers: number } | undefined;
  /** From the end of the fault (the component back, the stall over) to every Listener converged. */
  convergeMs?: number | undefined;
  figures: Record<string, string | number>;
  /** What must hold and did not; empty when the run is clean. */
  problems: string[];
}

export interface FaultOptions {
  /** Listeners of a controller fault. */
  listeners: number;
  /** Volumes of a node-plugin fault. */
  volumes: number;
  /** Bound of every convergence wait. */
  convergeTimeoutMs: number;
  /** The creates of a load are spread over about this long, so that faults land among them. */
  spreadMs: number;
}

export type Fault = (world: World, o: FaultOptions) => Promise<FaultResult>;
