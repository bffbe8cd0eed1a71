// docker/Dockerfile read as data, so that the image the e2e tier and `npm run dev` assemble without
// a container engine (images.ts) follows the build file itself, not a hand-kept twin: the runtime
// stage's WORKDIR, ENV, USER, ENTRYPOINT, CMD and COPY lines are carried out as written. An
// instruction this cannot carry out fails loudly, naming the line, so the two cannot drift apart.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const ROOT = path.join(import.meta.dirname, '..', '..');
/** THE build file (`docker build . -f docker/Dockerfile`); the context is the repository root. */
export const DOCKERFILE = path.join(ROOT, 'docker', 'Dockerfile');

export interface Instruction { line: number; op: string; args: string }
export interface Stage { name: string | undefined; base: string; instructions: Instruction[] }

/** The logical lines (continuations joined), without comments and blank lines, with their numbers. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i] ?? '';
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i] ?? ''}`;
    line = line.trim();
    if (line !== '' && !line.startsWith('#')) out.push({ line: start, text: line });
  }
  return out;
}

/** The stages, and the ARGs before the first FROM. */
export function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const { line, text: l } of logicalLines(text)) {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (m === null) throw new Error(`${DOCKERFILE}:${line}: cannot read "${l}"`);
    const op = (m[1] ?? '').toUpperCase();
    const rest = (m[2] ?? '').trim();
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new Error(`${DOCKERFILE}:${line}: cannot read FROM "${rest}"`);
      stages.push({ name: from[2], base: from[1] ?? '', instructions: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=', 2);
      args.set(k ?? '', v ?? '');
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`${DOCKERFILE}:${line}: ${op} before the first FROM`);
      stage.instructions.push({ line, op, args: rest });
    }
  }
  return { args, stages };
}

export async function readDockerfile(file = DOCKERFILE): Promise<ReturnType<typeof parseDockerfile>> {
  return parseDockerfile(await readFile(file, 'utf8'));
}

/** One COPY of the runtime stage: from the build context, or from an earlier stage. */
export interface Copy { line: number; from: string | undefined; src: string; dest: string }

/** What the runtime (last) stage of the Dockerfile makes of its base image. */
export interface RuntimeStage {
  base: string;
  workdir: string;
  env: string[];
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
  copies: Copy[];
  /** RUN lines: the runtime stage may only remove files of its base image (checked). */
  removes: string[];
}

function execForm(ins: Instruction): string[] {
  try {
    const v = JSON.parse(ins.args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch { /* below */ }
  throw new Error(`${DOCKERFILE}:${ins.line}: ${ins.op} must be in exec form (a JSON list of strings), got ${ins.args}`);
}

/** `ENV K=V K2=V2` (the key=value form only). */
function envPairs(ins: Instruction): string[] {
  const pairs = ins.args.split(/\s+/);
  for (const p of pairs) if (!/^[A-Za-z_][A-Za-z0-9_]*=\S*$/.test(p)) throw new Error(`${DOCKERFILE}:${ins.line}: ENV must be KEY=VALUE pairs, got "${p}"`);
  return pairs;
}

function copyOf(ins: Instruction): Copy {
  const words = ins.args.split(/\s+/);
  const from = /^--from=(\S+)$/.exec(words[0] ?? '')?.[1];
  const rest = from === undefined ? words : words.slice(1);
  if (rest.length !== 2 || rest.some((w) => w.startsWith('--'))) throw new Error(`${DOCKERFILE}:${ins.line}: COPY with one source and one destination (and at most --from) expected, got "${ins.args}"`);
  return { line: ins.line, from, src: rest[0] ?? '', dest: rest[1] ?? '' };
}

/** The last stage, as the image assembler carries it out. */
export function runtimeStage(stages: Stage[]): RuntimeStage {
  const last = stages.at(-1);
  if (last === undefined) throw new Error(`${DOCKERFILE}: no FROM`);
  const r: RuntimeStage = { base: last.base, workdir: '/', env: [], user: undefined, entrypoint: [], cmd: [], copies: [], removes: [] };
  for (const ins of last.instructions) {
    switch (ins.op) {
      case 'WORKDIR': r.workdir = path.posix.resolve(r.workdir, ins.args); break;
      case 'ENV': r.env.push(...envPairs(ins)); break;
      case 'USER': r.user = ins.args; break;
      case 'ENTRYPOINT': r.entrypoint = execForm(ins); break;
      case 'CMD': r.cmd = execForm(ins); break;
      case 'COPY': {
        // Relative destinations are below WORKDIR; a trailing slash means "into this directory".
        const c = copyOf(ins);
        r.copies.push({ ...c, dest: path.posix.resolve(r.workdir, c.dest) + (c.dest.endsWith('/') ? '/' : '') });
        break;
      }
      case 'LABEL': break;
      case 'RUN': {
        const rm = /^rm -rf (.+)$/.exec(ins.args);
        if (rm === null) throw new Error(`${DOCKERFILE}:${ins.line}: the runtime stage may only remove files of its base image (RUN rm -rf ...); the image assembler cannot carry out "${ins.args}"`);
        r.removes.push(...(rm[1] ?? '').split(/\s+/));
        break;
      }
      default: throw new Error(`${DOCKERFILE}:${ins.line}: the image assembler (test/support/images.ts) cannot carry out ${ins.op} in the runtime stage`);
    }
  }
  return r;
}

/** The runtime stage of docker/Dockerfile, read now (for values needed at module load). */
export function runtimeStageSync(file = DOCKERFILE): RuntimeStage & { args: Map<string, string> } {
  const { args, stages } = parseDockerfile(readFileSync(file, 'utf8'));
  return { ...runtimeStage(stages), args };
}
