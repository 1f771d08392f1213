// ferry's version and how a bare `ferry --version` / `-V` is answered, in one place for the two
// entries that answer it: the package's bin (app/bin.cts, CommonJS, requires this file's build) and
// the command line's ES module entry (app/cli.ts; esbuild inlines this file into dist/app/cli.js).
// CommonJS so that the bin can load it (Node 20 cannot require an ES module), and without imports:
// in the ES module bundle a require() of Node's modules would be a shim that throws. The caller
// passes how it reads a file beside itself.

/** Where package.json is from dist/app/, where the built entries (bin.cjs, cli.js) sit. */
export const PACKAGE_JSON_FROM_ENTRY = '../../package.json';

/** ferry's version: what package.json says, read by `readBesideEntry`; 'dev' without one (a source checkout run by tsx). */
export function ferryVersion(readBesideEntry: (relativePath: string) => string): string {
  try {
    return (JSON.parse(readBesideEntry(PACKAGE_JSON_FROM_ENTRY)) as { version: string }).version;
  } catch {
    return 'dev';
  }
}

/**
 * What a bare `--version` / `-V` (the whole command line) prints: the version and a newline;
 * undefined for anything else, which the command line answers (commander knows the version too).
 */
export function bareVersionAnswer(argv: readonly string[], readBesideEntry: (relativePath: string) => string): string | undefined {
  if (argv.length !== 1 || (argv[0] !== '--version' && argv[0] !== '-V')) return undefined;
  return ferryVersion(readBesideEntry) + '\n';
}
