// When this build was made: stamped into dist/build-info.json by `npm run build` (and the image
// build), read at start for the end-of-support check. Running from the sources (no stamp) is a
// development build, which counts from the start of the process, as upstream's debug builds do.
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  /** undefined: a development build (no stamp). */
  builtAtMs: number | undefined;
}

export const BUILD_INFO_FILE = 'build-info.json';

/** Reads the stamp next to the compiled modules (dist/build-info.json); fails on a corrupt one. */
export function readBuildInfo(url = new URL(`../${BUILD_INFO_FILE}`, import.meta.url)): BuildInfo {
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch {
    return { builtAtMs: undefined };
  }
  const parsed = JSON.parse(text) as { builtAt?: unknown };
  const ms = typeof parsed.builtAt === 'string' ? Date.parse(parsed.builtAt) : NaN;
  if (Number.isNaN(ms)) throw new Error(`${url.pathname}: builtAt is not a time: ${text.slice(0, 200)}`);
  return { builtAtMs: ms };
}
