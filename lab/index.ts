// The lab's API for tests: bring the hypervisor host VM (and the empty KVM host) up or down, reset it, export an LV, boot-check an image.
export {
  labUp, labDown, labReset, labStatus, labSsh, ensureBuilt, labKvmHostUp, labKvmHostStatus, labKvmHostDown,
  type LabInfo, type LabKvmHostInfo, type LabVmInfo,
} from './lab.js';
export { bootCheck, type BootCheckResult, type BootCheckOptions, type DirectKernelBoot } from './boot-check.js';
export { exportLv, parseLvSegments, type LvSegment } from './export-lv.js';
export { GUEST } from './recipe.js';
