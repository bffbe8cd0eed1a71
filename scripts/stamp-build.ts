// Stamps a compiled tree with its build time (dist/build-info.json), which the end-of-support
// check counts from. SOURCE_DATE_EPOCH, when set, is the time (reproducible builds).
//   node scripts/stamp-build.ts <dist directory>
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function stampBuild(distDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const epoch = env.SOURCE_DATE_EPOCH;
  const builtAt = new Date(epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Date.now()).toISOString();
  const file = path.join(distDir, 'build-info.json');
  await writeFile(file, `${JSON.stringify({ builtAt })}\n`);
  return builtAt;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: node scripts/stamp-build.ts <dist directory>\n');
    process.exit(2);
  }
  process.stdout.write(`build time ${await stampBuild(dir)}\n`);
}
