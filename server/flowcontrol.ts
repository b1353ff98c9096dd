// API Priority and Fairness configuration (flowcontrol.apiserver.k8s.io/v1): upstream's
// bootstrap PriorityLevelConfigurations and FlowSchemas, created at start when missing
// (the mandatory and suggested objects kube-apiserver keeps, with their
// `apf.kubernetes.io/autoupdate-spec` annotation), and each FlowSchema's `Dangling`
// condition kept up to date. kite serves these objects but treats every request alike:
// the limits that apply are the max-in-flight ones (see README).
import { QueueController } from '../client/controller.js';
import { SharedInformerFactory, type Informer } from '../client/informer.js';
import type { ApiTransport } from '../client/transport.js';
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';

const GROUP = 'flowcontrol.apiserver.k8s.io';
const PLCS = resourceByPath(GROUP, 'v1', 'prioritylevelconfigurations')!;
const FLOWSCHEMAS = resourceByPath(GROUP, 'v1', 'flowschemas')!;
const AUTOUPDATE = { 'apf.kubernetes.io/autoupdate-spec': 'true' };

const queued = (shares: number, lendable: number, queues: number, handSize: number) => ({
  type: 'Limited',
  limited: { nominalConcurrencyShares: shares, lendablePercent: lendable, limitResponse: { type: 'Queue', queuing: { queues, handSize, queueLengthLimit: 50 } } },
});

const LEVELS: [string, Record<string, unknown>][] = [
  ['exempt', { type: 'Exempt', exempt: { nominalConcurrencyShares: 0, lendablePercent: 0 } }],
  ['catch-all', { type: 'Limited', limited: { nominalConcurrencyShares: 5, lendablePercent: 0, limitResponse: { type: 'Reject' } } }],
  ['system', queued(30, 33, 64, 6)],
  ['node-high', queued(40, 25, 64, 6)],
  ['leader-election', queued(10, 0, 16, 4)],
  ['workload-high', queued(40, 50, 128, 6)],
  ['workload-low', queued(100, 90, 128, 6)],
  ['global-default', queued(20, 50, 128, 6)],
];

const group = (name: string) => ({ kind: 'Group', group: { name } });
const user = (name: string) => ({ kind: 'User', user: { name } });
const kubeSystemSA = (name: string) => ({ kind: 'ServiceAccount', serviceAccount: { namespace: 'kube-system', name } });
const everything = {
  resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
  nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
};
const leaderElection = (namespaces: string[]) => [
  { verbs: ['get', 'create', 'update'], apiGroups: [''], resources: ['endpoints', 'configmaps'], namespaces },
  { verbs: ['get', 'create', 'update'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ['*'] },
];

interface Schema {
  name: string;
  level: string;
  precedence: number;
  distinguisher?: 'ByUser' | 'ByNamespace';
  rules: Record<string, unknown>[];
}

const SCHEMAS: Schema[] = [
  { name: 'exempt', level: 'exempt', precedence: 1, rules: [{ subjects: [group('system:masters')], ...everything }] },
  {
    name: 'probes',
    level: 'exempt',
    precedence: 2,
    rules: [{ subjects: [group('system:unauthenticated'), group('system:authenticated')], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/readyz', '/livez'] }] }],
  },
  {
    name: 'system-leader-election',
    level: 'leader-election',
    precedence: 100,
    distinguisher: 'ByUser',
    rules: [{ subjects: [user('system:kube-controller-manager'), user('system:kube-scheduler'), kubeSystemSA('*')], resourceRules: leaderElection(['kube-system']) }],
  },
  {
    name: 'endpoint-controller',
    level: 'workload-high',
    precedence: 150,
    distinguisher: 'ByUser',
    rules: [
      {
        subjects: [user('system:kube-controller-manager'), kubeSystemSA('endpoint-controller')],
        resourceRules: [{ verbs: ['get', 'create', 'update'], apiGroups: [''], resources: ['endpoints'], namespaces: ['*'] }],
      },
    ],
  },
  { name: 'workload-leader-election', level: 'leader-election', precedence: 200, distinguisher: 'ByUser', rules: [{ subjects: [kubeSystemSA('*')], resourceRules: leaderElection(['*']) }] },
  {
    name: 'system-node-high',
    level: 'node-high',
    precedence: 400,
    distinguisher: 'ByUser',
    rules: [
      {
        subjects: [group('system:nodes')],
        resourceRules: [
          { verbs: ['*'], apiGroups: [''], resources: ['nodes', 'nodes/status'], clusterScope: true, namespaces: ['*'] },
          { verbs: ['*'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ['*'] },
        ],
      },
    ],
  },
  { name: 'system-nodes', level: 'system', precedence: 500, distinguisher: 'ByUser', rules: [{ subjects: [group('system:nodes')], ...everything }] },
  { name: 'kube-controller-manager', level: 'workload-high', precedence: 800, distinguisher: 'ByNamespace', rules: [{ subjects: [user('system:kube-controller-manager')], ...everything }] },
  { name: 'kube-scheduler', level: 'workload-high', precedence: 800, distinguisher: 'ByNamespace', rules: [{ subjects: [user('system:kube-scheduler')], ...everything }] },
  { name: 'kube-system-service-accounts', level: 'workload-high', precedence: 900, distinguisher: 'ByNamespace', rules: [{ subjects: [kubeSystemSA('*')], ...everything }] },
  { name: 'service-accounts', level: 'workload-low', precedence: 9000, distinguisher: 'ByUser', rules: [{ subjects: [group('system:serviceaccounts')], ...everything }] },
  {
    name: 'global-default',
    level: 'global-default',
    precedence: 9900,
    distinguisher: 'ByUser',
    rules: [{ subjects: [group('system:unauthenticated'), group('system:authenticated')], ...everything }],
  },
  {
    name: 'catch-all',
    level: 'catch-all',
    precedence: 10000,
    distinguisher: 'ByUser',
    rules: [{ subjects: [group('system:unauthenticated'), group('system:authenticated')], ...everything }],
  },
];

export function bootstrapPriorityLevels(): KubeObject[] {
  return LEVELS.map(([name, spec]) => ({ apiVersion: `${GROUP}/v1`, kind: 'PriorityLevelConfiguration', metadata: { name, annotations: { ...AUTOUPDATE } }, spec }));
}

export function bootstrapFlowSchemas(): KubeObject[] {
  return SCHEMAS.map((s) => ({
    apiVersion: `${GROUP}/v1`,
    kind: 'FlowSchema',
    metadata: { name: s.name, annotations: { ...AUTOUPDATE } },
    spec: {
      priorityLevelConfiguration: { name: s.level },
      matchingPrecedence: s.precedence,
      ...(s.distinguisher ? { distinguisherMethod: { type: s.distinguisher } } : {}),
      rules: s.rules,
    },
  }));
}

/** The FlowSchema's Dangling condition for the levels that exist (upstream's APF config controller). */
export function danglingCondition(fs: KubeObject, levels: ReadonlySet<string>): Record<string, string> {
  const name = String((fs.spec as { priorityLevelConfiguration?: { name?: string } } | undefined)?.priorityLevelConfiguration?.name ?? '');
  const exists = levels.has(name);
  return {
    type: 'Dangling',
    status: exists ? 'False' : 'True',
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: exists ? 'Found' : 'NotFound',
    message: exists
      ? `This FlowSchema references the PriorityLevelConfiguration object named "${name}" and it exists`
      : `This FlowSchema references the PriorityLevelConfiguration object named "${name}" but there is no such object`,
  };
}

async function createIfMissing(client: ApiTransport, res: typeof PLCS, obj: KubeObject): Promise<void> {
  try {
    await client.create(res, undefined, obj);
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 409)) throw err;
  }
}

/** Create the bootstrap objects that are missing. */
export async function bootstrapFlowControl(client: ApiTransport): Promise<void> {
  // All at once (none depends on another's being there first): they share the store's commits.
  await Promise.all([...bootstrapPriorityLevels().map((plc) => createIfMissing(client, PLCS, plc)), ...bootstrapFlowSchemas().map((fs) => createIfMissing(client, FLOWSCHEMAS, fs))]);
}

/**
 * Keeps every FlowSchema's `Dangling` condition true to whether its priority level
 * exists (upstream: the APF configuration controller inside kube-apiserver).
 */
export class FlowSchemaStatusController extends QueueController {
  private readonly factory: SharedInformerFactory;
  private readonly schemas: Informer<KubeObject>;
  private readonly levels: Informer<KubeObject>;

  constructor(private readonly transport: ApiTransport) {
    super({ name: 'flowschema-status', workers: 1 });
    this.factory = new SharedInformerFactory(transport);
    this.schemas = this.factory.informerFor<KubeObject>(FLOWSCHEMAS);
    this.levels = this.factory.informerFor<KubeObject>(PLCS);
    this.watch(this.schemas);
    const all = () => {
      for (const fs of this.schemas.store.list()) this.enqueueObject(fs);
    };
    this.levels.addEventHandler({ onAdd: all, onDelete: all });
    this.requireSynced(this.schemas);
    this.requireSynced(this.levels);
  }

  override async start(): Promise<void> {
    this.factory.start();
    await super.start();
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.factory.stop();
  }

  protected override async reconcile(name: string): Promise<void> {
    const fs = this.schemas.store.get(undefined, name);
    if (!fs) return;
    const levels = new Set(this.levels.store.list().map((p) => p.metadata?.name ?? ''));
    const want = danglingCondition(fs, levels);
    const conds = (fs.status as { conditions?: Record<string, string>[] } | undefined)?.conditions ?? [];
    const had = conds.find((c) => c.type === 'Dangling');
    if (had && had.status === want.status && had.reason === want.reason) return;
    try {
      await this.transport.updateStatus(FLOWSCHEMAS, undefined, { ...fs, status: { ...(fs.status as object), conditions: [...conds.filter((c) => c.type !== 'Dangling'), want] } });
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) return;
      if (err instanceof StatusError && err.code === 409) return this.enqueue(name);
      throw err;
    }
  }
}
