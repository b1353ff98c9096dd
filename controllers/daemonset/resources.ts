// The resources the DaemonSet controller reads and writes.
import { resourceByPath } from '../../machinery/resources.js';

export const DAEMONSETS = resourceByPath('apps', 'v1', 'daemonsets')!;
export const NODES = resourceByPath('', 'v1', 'nodes')!;
