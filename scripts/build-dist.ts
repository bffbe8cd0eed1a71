// `npm run build`: bundles the operator into dist/ for the image (and the benchmark), then stamps
// the build time (stamp-build.ts).
//
//   dist/main.js                          the CLI, every module it imports, in one CommonJS file
//   dist/webhook/certificate-worker.js    the child process that issues the webhook's certificate
//   dist/cli/chart-tests.js               the Helm chart's test hooks (`helm test`)
//   dist/proto/grpc/reflection/...        the .proto files @grpc/reflection loads at run time
//   dist/package.json                     {"type": "commonjs"}
//   dist/build-info.json                  the build stamp
//
// Why a bundle (docs/benchmark.md, "Memory"): Node.js keeps every ES module's source, its module
// record and namespace; a CommonJS bundle is one script, compiled lazily. And an ES module import
// of a built-in module (`import http from 'node:http'`) reads every export of it once, which runs
// the lazy getters Node.js puts on some of them (`http.WebSocket` loads undici: 11 MiB resident);
// `require` does not. Types are not checked here: `npm run typecheck` (and the test command) do.
//
// Each module's `import.meta.url` is rewritten to the URL its file would have had in an unbundled
// dist/ (dist/csi/proto/load.js, ...), so the paths the modules compute relative to themselves
// (../../../proto/, ../build-info.json) stay what they were.
// `await import()` of a package that is left out of the bundle (@kubernetes/client-node, loaded only
// for a kubeconfig exec plugin) stays an import of node_modules at run time.
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { stampBuild } from './stamp-build.ts';

const ROOT = path.join(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** Entry points, as paths below src/ (their output keeps the path, with .js). */
export const ENTRY_POINTS = ['main.ts', 'webhook/certificate-worker.ts', 'cli/chart-tests.ts'];
/** Imported only when needed, from node_modules at run time. */
export const EXTERNAL = ['@kubernetes/client-node'];

/** The URL helper every rewritten `import.meta.url` calls (relative to the bundle's own file). */
const BANNER = 'const __moduleUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;';

/**
 * Rewrites `import.meta` in a source file below src/ for the CommonJS bundle of `entry` (a path
 * below src/): `.url` to the URL of the module's unbundled output file, `.main` (entry only) to
 * whether the bundle runs as the program.
 */
function moduleUrls(entry: string): Plugin {
  return {
    name: 'module-urls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        let text = await readFile(args.path, 'utf8');
        if (!args.path.startsWith(SRC + path.sep)) return { contents: text, loader: 'ts' };
        const own = path.relative(SRC, args.path);
        // `if (import.meta.main)`: the module is the bundle's entry point, run as the program.
        if (text.includes('import.meta.main')) {
          if (own !== entry) throw new Error(`${args.path}: import.meta.main outside an entry point (${entry}) would run in the bundle that includes it`);
          text = text.replaceAll('import.meta.main', '(require.main === module)');
        }
        // The module's own output path (src/csi/proto/load.ts → csi/proto/load.js), relative to
        // the directory of the bundle that includes it.
        const rel = path.relative(path.dirname(entry), own.replace(/\.ts$/, '.js'));
        return { contents: text.replaceAll('import.meta.url', `__moduleUrl(${JSON.stringify(rel)})`), loader: 'ts' };
      });
    },
  };
}

/**
 * @grpc/reflection loads its own .proto files from `__dirname/../../proto/` at run time: in the
 * bundle they sit at dist/proto/ (copied there by buildDist), next to the bundle.
 */
const REFLECTION_PROTOS = path.join(ROOT, 'node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc');
function reflectionProtos(): Plugin {
  return {
    name: 'reflection-protos',
    setup(b) {
      b.onLoad({ filter: /@grpc[\\/]reflection[\\/]build[\\/]src[\\/]implementations[\\/]reflection-v1(alpha)?\.js$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        const rewritten = text.replaceAll("'../../proto/", "'proto/");
        if (rewritten === text) throw new Error(`${args.path}: the path of its .proto files has changed; update scripts/build-dist.ts`);
        return { contents: rewritten, loader: 'js' };
      });
    },
  };
}

/** Bundles src/ into `outDir` (emptied first) and stamps it; returns the build time. */
export async function buildDist(outDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  for (const entry of ENTRY_POINTS) {
    const out = path.join(outDir, entry.replace(/\.ts$/, '.js'));
    await build({
      entryPoints: [path.join(SRC, entry)],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node26',
      external: EXTERNAL,
      banner: { js: BANNER },
      plugins: [moduleUrls(entry), reflectionProtos()],
      sourcemap: 'external',
      // Names stay (stack traces and logs), white space goes: the source V8 keeps is smaller.
      minifyWhitespace: true,
      minifySyntax: true,
      keepNames: true,
      legalComments: 'none',
      logLevel: 'warning',
    });
  }
  await cp(REFLECTION_PROTOS, path.join(outDir, 'proto', 'grpc'), { recursive: true });
  await writeFile(path.join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  return stampBuild(outDir, env);
}

if (import.meta.main) {
  const dir = process.argv[2] ?? 'dist';
  process.stdout.write(`bundled ${path.resolve(dir)}; build time ${await buildDist(dir)}\n`);
}
