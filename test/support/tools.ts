// Finds (or builds, on a cold cache) the pinned upstream binaries via scripts/build-tools.sh,
// streaming its progress so a cold build is never silent.
import { spawn } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.join(import.meta.dirname, '..', '..', 'scripts', 'build-tools.sh');

export async function buildTools(target: 'kubernetes' | 'csi' | 'kwok' | 'all', log: (l: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, target], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim() !== '') log(line);
    });
    child.on('exit', (code) => {
      const lines = out.trim().split('\n');
      const dir = lines[lines.length - 1];
      if (code === 0 && dir !== undefined && dir !== '') resolve(dir);
      else reject(new Error(`scripts/build-tools.sh ${target} failed with exit code ${code}`));
    });
  });
}
