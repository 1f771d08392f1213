// Where the build puts the bundled CLI's pieces (app/cli-bundle-write.ts), for the build and the tests.

/** How the bundle's chunk files in dist/app/ are named (a content hash follows). */
export const CLI_CHUNK_PREFIX = 'cli-chunk-';

/** The build's record of which sources (paths from the package root) each bundle file holds. */
export const CLI_BUNDLE_MAP_URL = new URL('./cli-bundle-map.json', import.meta.url);
