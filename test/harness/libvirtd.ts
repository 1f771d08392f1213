// The libvirt daemon for integration tests: the same one-shot start the lab's migration demo uses.
export { ensureLibvirtd, LIBVIRT_PACKAGES, type LibvirtReady } from '../../lab/libvirtd.js';
