// Build step (`npm run build`, after tsc): bundles the command line into a few ES module files with
// esbuild, so that `ferry run` reads and compiles ~20 files instead of ~320 (issue 15 §3/§4: Node's
// module loading was most of a run's fixed start). tsc's per-module files stay for the library
// (`exports`) and the tests; only dist/app/cli.js (what the package's `bin`, dist/app/bin.cjs, runs) is
// replaced by the bundle's entry, and dist/app/bin.cjs by the bin bundled with what it imports. Code splitting keeps every lazy `import()` lazy: `--version` loads
// the entry alone, `--help` and `doc` load commander's chunk, `run` the engine's and the chunk of
// each task module the playbook uses (tasks/catalog.ts: one dynamic import per module). The chunks sit next to cli.js, so
// paths relative to `import.meta.url` (package.json, playbooks/, module-docs.json) resolve as they
// do from tsc's files; ssh2 stays a package of its own (it loads a native binding by path).
// Also writes CLI_BUNDLE_MAP: which sources each output file holds, for the start-up test.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { CLI_BUNDLE_MAP_URL, CLI_CHUNK_PREFIX } from './cli-bundle.js';

if (!import.meta.url.endsWith('.js')) throw new Error('run the compiled cli-bundle-write.js (npm run build), not the TypeScript source');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = fileURLToPath(new URL('./', import.meta.url));

// zod's ~45 message locales (341 KB of its sources, a third of its chunk, which every run compiles)
// are reachable only as `z.locales`, which ferry never uses: zod itself installs English, the one
// locale kept. Its `locales` namespace keeps `en` alone in the bundle.
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/index.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

// a previous build's chunks (their names are content hashes) would otherwise pile up
for (const f of readdirSync(OUT)) if (f.startsWith(CLI_CHUNK_PREFIX)) rmSync(OUT + f);

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['app/cli.ts'],
  outdir: 'dist/app',
  entryNames: '[name]',
  chunkNames: `${CLI_CHUNK_PREFIX}[hash]`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  // source maps as tsc writes them (linked, no sources inlined): NODE_OPTIONS=--enable-source-maps
  // maps every stack, and the CLI maps an internal error's stack itself (app/stack-source.ts)
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  plugins: [zodEnglishOnly],
  // CommonJS packages (commander, handlebars) call require() for Node's own modules
  banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module';\nconst require = __ferryCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

// The package's bin (app/bin.cts), bundled too, as CommonJS: app/version.cts inlined, so that
// `ferry --version` reads one file of ferry's, as before the version had a module of its own
// (a relative require() cost ~2.5 ms of a ~115 ms start). The ES module entry stays external.
await build({
  absWorkingDir: ROOT,
  entryPoints: ['app/bin.cts'],
  outfile: 'dist/app/bin.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['./cli.js'],
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});

const map: Record<string, string[]> = {};
for (const [out, o] of Object.entries(result.metafile.outputs)) {
  if (out.endsWith('.js')) map[out] = Object.keys(o.inputs);
}
writeFileSync(CLI_BUNDLE_MAP_URL, JSON.stringify(map, null, 1) + '\n');
process.stdout.write(`wrote ${Object.keys(map).length} files of the CLI bundle and ${fileURLToPath(CLI_BUNDLE_MAP_URL)}\n`);
