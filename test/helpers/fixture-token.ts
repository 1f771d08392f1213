/** The batch token the captured fixtures of framed reads (test/fixtures/facts, test/fixtures/xen-import) were framed with. */
export const FIXTURE_TOKEN = 'FERRY00000000000000000000000000000000';
