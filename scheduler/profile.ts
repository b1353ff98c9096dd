// The default profile (upstream: apis/config/v1/default_plugins.go): the plugins in
// upstream's order, with upstream's score weights.
import { Framework } from './framework.js';
import type { Plugin } from './framework.js';
import { NodeUnschedulable, NODE_UNSCHEDULABLE } from './plugins/nodeunschedulable.js';
import { NodeName, NODE_NAME } from './plugins/nodename.js';
import { TaintToleration, TAINT_TOLERATION } from './plugins/tainttoleration.js';
import { NodeAffinity, NODE_AFFINITY } from './plugins/nodeaffinity.js';
import { NodePorts } from './plugins/nodeports.js';
import { NodeResourcesFit, NODE_RESOURCES_FIT } from './plugins/noderesources.js';
import { VolumeBinding } from './plugins/volumebinding.js';
import type { VolumeLister } from '../controllers/volume/scheduling.js';
import { PodTopologySpread, POD_TOPOLOGY_SPREAD } from './plugins/podtopologyspread.js';
import type { DefaultSelectorFn } from './plugins/podtopologyspread.js';
import { InterPodAffinity, INTER_POD_AFFINITY } from './plugins/interpodaffinity.js';
import { BalancedAllocation, BALANCED_ALLOCATION } from './plugins/balancedallocation.js';
import { ImageLocality, IMAGE_LOCALITY } from './plugins/imagelocality.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Score weights of the default plugins. */
export const DEFAULT_WEIGHTS: Readonly<Record<string, number>> = {
  [TAINT_TOLERATION]: 3,
  [NODE_AFFINITY]: 2,
  [NODE_RESOURCES_FIT]: 1,
  [POD_TOPOLOGY_SPREAD]: 2,
  [INTER_POD_AFFINITY]: 2,
  [BALANCED_ALLOCATION]: 1,
  [IMAGE_LOCALITY]: 1,
};

export interface ProfileOptions {
  /** Services/controllers selector for the default topology spread constraints. */
  defaultSelector?: DefaultSelectorFn;
  /** Claims, volumes and classes for VolumeBinding (without it, pods with claims pass every node). */
  volumes?: VolumeLister;
}

export function defaultPlugins(opts: ProfileOptions = {}): Plugin[] {
  return [
    new NodeUnschedulable(),
    new NodeName(),
    new TaintToleration(),
    new NodeAffinity(),
    new NodePorts(),
    new NodeResourcesFit(),
    new VolumeBinding(opts.volumes),
    new PodTopologySpread(opts.defaultSelector),
    new InterPodAffinity(),
    new BalancedAllocation(),
    new ImageLocality(),
  ];
}

export function defaultFramework(opts: ProfileOptions = {}): Framework {
  return new Framework(DEFAULT_SCHEDULER_NAME, defaultPlugins(opts), DEFAULT_WEIGHTS);
}

export { NODE_UNSCHEDULABLE, NODE_NAME };
