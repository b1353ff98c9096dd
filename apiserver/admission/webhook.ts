// Dynamic admission webhooks (upstream: apiserver/pkg/admission/plugin/webhook): the
// MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins. Their configuration
// (Mutating/ValidatingWebhookConfiguration objects) is kept compiled in memory, rebuilt
// only when the watch cache reports a change of one of them; a request then costs a
// walk over the compiled webhooks' rules. A matching webhook is sent an
// admission.k8s.io/v1 AdmissionReview over HTTPS — to `url`, or to a ready endpoint of
// `service` (resolved through the Service's EndpointSlices, verified against the name
// `<service>.<namespace>.svc`) — with `caBundle` as its only trust root.
import { randomUUID } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import type { KubeObject } from '../../machinery/object.js';
import { jsonEqual } from '../../machinery/object.js';
import { labelSelectorMatches } from '../../machinery/labels.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import { StatusError, badRequest, internalError } from '../../machinery/status.js';
import type { StatusDetails } from '../../machinery/status.js';
import { applyJsonPatch } from '../patch/jsonpatch.js';
import { storageResource } from '../conversion.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { evalCel, toCel } from './cel.js';
import { arr, isObj, obj, str, strMap, type Obj } from './util.js';

/** What the webhooks read: the watch cache, through the API server's lookups. */
export interface WebhookLookups {
  get(group: string, plural: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(group: string, plural: string, namespace?: string): KubeObject[];
  onChange(group: string, plural: string, onChange: () => void): unknown;
}

const GROUP = 'admissionregistration.k8s.io';

/** Kinds never sent to webhooks or policies, so a bad webhook can always be removed (upstream IsExemptAdmissionConfigurationResource). */
export function isExemptFromAdmissionHooks(res: ResourceInfo): boolean {
  return (
    res.group === GROUP &&
    ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings'].includes(res.plural)
  );
}

// ---- rules ------------------------------------------------------------------------------------

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

/** Whether one rule covers the request (upstream rules.Matcher). */
export function ruleMatches(rule: RuleWithOperations, req: AdmissionRequest, res: { group: string; version: string; plural: string }): boolean {
  const ops = rule.operations ?? [];
  if (!ops.includes('*') && !ops.includes(req.operation)) return false;
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(res.group)) return false;
  const versions = rule.apiVersions ?? [];
  if (!versions.includes('*') && !versions.includes(res.version)) return false;
  let resourceOk = false;
  for (const entry of rule.resources ?? []) {
    const i = entry.indexOf('/');
    const r = i < 0 ? entry : entry.slice(0, i);
    const sub = i < 0 ? '' : entry.slice(i + 1);
    if ((r === '*' || r === res.plural) && (sub === '*' || sub === req.subresource)) {
      resourceOk = true;
      break;
    }
  }
  if (!resourceOk) return false;
  const isNamespaceObject = res.group === '' && res.plural === 'namespaces';
  switch (rule.scope ?? '*') {
    case 'Namespaced':
      return !isNamespaceObject && req.namespace !== '';
    case 'Cluster':
      return isNamespaceObject || req.namespace === '';
    default:
      return true;
  }
}

/**
 * Whether the rules cover the request: as asked, or (matchPolicy Equivalent) as the
 * version the object is stored in. Returns the resource that matched.
 */
export function rulesMatch(rules: readonly RuleWithOperations[], matchPolicy: string, req: AdmissionRequest): ResourceInfo | undefined {
  if (rules.some((r) => ruleMatches(r, req, req.resource))) return req.resource;
  if (matchPolicy === 'Exact') return undefined;
  const stored = storageResource(req.resource);
  if (stored !== req.resource && rules.some((r) => ruleMatches(r, req, stored))) return stored;
  return undefined;
}

/** The labels a namespaceSelector is matched against, or undefined when it does not apply (cluster-scoped kinds). */
export function namespaceLabels(req: AdmissionRequest, lookups: Pick<WebhookLookups, 'get'>): Record<string, string> | undefined {
  if (req.resource.group === '' && req.resource.plural === 'namespaces') {
    const o = req.object ?? req.oldObject;
    return { ...strMap(o?.metadata?.labels), 'kubernetes.io/metadata.name': req.name };
  }
  if (!req.namespace) return undefined;
  const ns = lookups.get('', 'namespaces', undefined, req.namespace);
  return { ...strMap(ns?.metadata?.labels), 'kubernetes.io/metadata.name': req.namespace };
}

const isEmptySelector = (sel: unknown) => isObj(sel) && !arr(sel.matchExpressions).length && Object.keys(obj(sel.matchLabels)).length === 0;

export function selectorsMatch(namespaceSelector: unknown, objectSelector: unknown, req: AdmissionRequest, lookups: Pick<WebhookLookups, 'get'>): boolean {
  if (namespaceSelector !== undefined && !isEmptySelector(namespaceSelector)) {
    const labels = namespaceLabels(req, lookups);
    if (labels && !labelSelectorMatches(namespaceSelector, labels)) return false;
  }
  if (objectSelector !== undefined && !isEmptySelector(objectSelector)) {
    const a = req.object ? labelSelectorMatches(objectSelector, strMap(req.object.metadata?.labels)) : false;
    const b = req.oldObject ? labelSelectorMatches(objectSelector, strMap(req.oldObject.metadata?.labels)) : false;
    if (!a && !b) return false;
  }
  return true;
}

// ---- the AdmissionReview request ----------------------------------------------------------------

const OPTIONS_KIND: Record<string, string> = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions', CONNECT: '' };

/** The admission.k8s.io/v1 AdmissionRequest for `req` (matched: the resource the rules matched). */
export function admissionReviewRequest(req: AdmissionRequest, matched: ResourceInfo, uid: string): Obj {
  const kindOf = (r: ResourceInfo) => ({ group: r.group, version: r.version, kind: r.kind });
  const resourceOf = (r: ResourceInfo) => ({ group: r.group, version: r.version, resource: r.plural });
  const out: Obj = {
    uid,
    kind: kindOf(matched),
    resource: resourceOf(matched),
  };
  if (req.subresource) out.subResource = req.subresource;
  out.requestKind = kindOf(req.resource);
  out.requestResource = resourceOf(req.resource);
  if (req.subresource) out.requestSubResource = req.subresource;
  if (req.name) out.name = req.name;
  if (req.namespace) out.namespace = req.namespace;
  out.operation = req.operation;
  const user: Obj = { username: req.user.name };
  if (req.user.uid) user.uid = req.user.uid;
  if (req.user.groups.length) user.groups = req.user.groups;
  if (req.user.extra && Object.keys(req.user.extra).length) user.extra = req.user.extra;
  out.userInfo = user;
  out.object = req.object ?? null;
  out.oldObject = req.oldObject ?? null;
  out.dryRun = req.dryRun;
  const optionsKind = OPTIONS_KIND[req.operation];
  if (optionsKind) {
    const opts: Obj = { kind: optionsKind, apiVersion: 'meta.k8s.io/v1' };
    if (req.dryRun) opts.dryRun = ['All'];
    out.options = opts;
  }
  return out;
}

/** The request as matchConditions and policies see it (`request` in CEL). */
export function celRequest(review: Obj): unknown {
  const { object: _o, oldObject: _oo, ...rest } = review;
  void _o;
  void _oo;
  return toCel(rest);
}

// ---- compiled configuration ---------------------------------------------------------------------

interface ClientConfig {
  url?: string;
  service?: { namespace: string; name: string; port: number; path: string };
  ca?: string;
}

export interface CompiledWebhook {
  /** Unique among all webhooks: configuration name and webhook position. */
  key: string;
  name: string;
  rules: RuleWithOperations[];
  failurePolicy: 'Fail' | 'Ignore';
  matchPolicy: string;
  sideEffects: string;
  timeoutMs: number;
  namespaceSelector: unknown;
  objectSelector: unknown;
  matchConditions: { name: string; expression: string }[];
  reinvoke: boolean;
  client: ClientConfig;
  agent: Agent;
}

function compileConfiguration(cfg: KubeObject, mutating: boolean): CompiledWebhook[] {
  return arr(cfg.webhooks)
    .map(obj)
    .map((w, i) => {
      const cc = obj(w.clientConfig);
      const svc = isObj(cc.service) ? obj(cc.service) : undefined;
      const ca = str(cc.caBundle) ? Buffer.from(str(cc.caBundle), 'base64').toString('utf8') : undefined;
      return {
        key: `${cfg.metadata?.name}/${i}`,
        name: str(w.name),
        rules: arr(w.rules) as RuleWithOperations[],
        failurePolicy: str(w.failurePolicy) === 'Ignore' ? 'Ignore' : 'Fail',
        matchPolicy: str(w.matchPolicy) || 'Equivalent',
        sideEffects: str(w.sideEffects),
        timeoutMs: (typeof w.timeoutSeconds === 'number' ? w.timeoutSeconds : 10) * 1000,
        namespaceSelector: w.namespaceSelector,
        objectSelector: w.objectSelector,
        matchConditions: arr(w.matchConditions).map(obj).map((c) => ({ name: str(c.name), expression: str(c.expression) })),
        reinvoke: mutating && str(w.reinvocationPolicy) === 'IfNeeded',
        client: {
          url: cc.url === undefined ? undefined : str(cc.url),
          service: svc ? { namespace: str(svc.namespace), name: str(svc.name), port: typeof svc.port === 'number' ? svc.port : 443, path: str(svc.path) } : undefined,
          ca,
        },
        // One connection pool per webhook: its trust root is its own caBundle.
        agent: new Agent({ keepAlive: true, maxSockets: 64, ca }),
      } satisfies CompiledWebhook;
    });
}

/** The webhooks of one configuration kind, sorted as upstream (configuration name, then order), rebuilt on change. */
export class WebhookSource {
  private hooks: CompiledWebhook[] | undefined;

  constructor(
    private readonly lookups: WebhookLookups,
    private readonly plural: 'validatingwebhookconfigurations' | 'mutatingwebhookconfigurations',
  ) {
    lookups.onChange(GROUP, plural, () => this.invalidate());
  }

  private invalidate(): void {
    for (const h of this.hooks ?? []) h.agent.destroy();
    this.hooks = undefined;
  }

  webhooks(): readonly CompiledWebhook[] {
    if (!this.hooks) {
      const configs = [...this.lookups.list(GROUP, this.plural)].sort((a, b) => (str(a.metadata?.name) < str(b.metadata?.name) ? -1 : 1));
      this.hooks = configs.flatMap((c) => compileConfiguration(c, this.plural === 'mutatingwebhookconfigurations'));
    }
    return this.hooks;
  }
}

// ---- calling a webhook --------------------------------------------------------------------------

/** A failure to get an answer from a webhook: subject to its failurePolicy (upstream ErrCallingWebhook). */
class CallingWebhookError extends Error {}

function serviceEndpoint(lookups: WebhookLookups, svc: NonNullable<ClientConfig['service']>): { host: string; port: number } {
  const service = lookups.get('', 'services', svc.namespace, svc.name);
  if (!service) throw new Error(`service "${svc.name}" not found`);
  const spec = obj(service.spec);
  if (str(spec.type) === 'ExternalName') return { host: str(spec.externalName), port: svc.port };
  const port = arr(spec.ports)
    .map(obj)
    .find((p) => p.port === svc.port);
  if (!port) throw new Error(`no service port ${svc.port} found for service "${svc.name}"`);
  const candidates: { host: string; port: number }[] = [];
  for (const slice of lookups.list('discovery.k8s.io', 'endpointslices', svc.namespace)) {
    if (strMap(slice.metadata?.labels)['kubernetes.io/service-name'] !== svc.name) continue;
    const slicePort = arr((slice as Obj).ports)
      .map(obj)
      .find((p) => str(p.name) === str(port.name));
    if (!slicePort || typeof slicePort.port !== 'number') continue;
    for (const ep of arr((slice as Obj).endpoints).map(obj)) {
      if (obj(ep.conditions).ready === false) continue;
      for (const addr of arr<string>(ep.addresses)) candidates.push({ host: addr, port: slicePort.port });
    }
  }
  if (!candidates.length) throw new Error(`no endpoints available for service "${svc.name}"`);
  return candidates[Math.floor(Math.random() * candidates.length)];
}

/** Go's words for the network failures users meet (so messages read as upstream's). */
function goNetError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return 'read: connection reset by peer';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: ${err.message}`;
    default:
      return err.message;
  }
}

/** POST the review; the parsed AdmissionReview, or a CallingWebhookError with upstream's wording. */
export async function callWebhook(hook: CompiledWebhook, lookups: WebhookLookups, review: Obj): Promise<Obj> {
  const timeoutSeconds = Math.round(hook.timeoutMs / 1000);
  let shown: string;
  let host: string;
  let port: number;
  let path: string;
  let servername: string | undefined;
  if (hook.client.service) {
    const s = hook.client.service;
    servername = `${s.name}.${s.namespace}.svc`;
    shown = `https://${servername}:${s.port}${s.path}?timeout=${timeoutSeconds}s`;
    try {
      ({ host, port } = serviceEndpoint(lookups, s));
    } catch (err) {
      throw new CallingWebhookError(`failed to call webhook: Post "${shown}": ${(err as Error).message}`);
    }
    path = `${s.path || '/'}?timeout=${timeoutSeconds}s`;
  } else {
    const u = new URL(hook.client.url ?? '');
    u.searchParams.set('timeout', `${timeoutSeconds}s`);
    shown = u.toString();
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = Number(u.port || 443);
    path = `${u.pathname}${u.search}`;
    if (!/^[\d.]+$/.test(host) && !host.includes(':')) servername = host;
  }
  const body = Buffer.from(JSON.stringify(review));
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port,
        path,
        method: 'POST',
        servername,
        agent: hook.agent,
        headers: { 'content-type': 'application/json', accept: 'application/json, */*', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
            reject(new CallingWebhookError(`failed to call webhook: an error on the server ("${out.slice(0, 200).trim()}") has prevented the request from succeeding`));
          } else resolve(out);
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new CallingWebhookError(`failed to call webhook: Post "${shown}": context deadline exceeded`));
    }, hook.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof CallingWebhookError) reject(err);
      else reject(new CallingWebhookError(`failed to call webhook: Post "${shown}": ${goNetError(err, host, port)}`));
    });
    req.end(body);
  });
  let parsed: Obj;
  try {
    parsed = JSON.parse(text) as Obj;
  } catch (err) {
    throw new CallingWebhookError(`received invalid webhook response: ${(err as Error).message}`);
  }
  if (parsed.apiVersion !== 'admission.k8s.io/v1' || parsed.kind !== 'AdmissionReview') {
    throw new CallingWebhookError(`received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${str(parsed.apiVersion)}, Kind=${str(parsed.kind)}`);
  }
  const response = parsed.response;
  if (!isObj(response)) throw new CallingWebhookError('received invalid webhook response: webhook response was absent');
  const want = str(obj(review.request).uid);
  if (str(response.uid) !== want) throw new CallingWebhookError(`received invalid webhook response: expected response.uid="${want}", got "${str(response.uid)}"`);
  return response;
}

/** A webhook's denial as upstream words it (webhookerrors.ToStatusErr), keeping the response's code, reason and details. */
export function deniedError(name: string, result: unknown): StatusError {
  const r = obj(result);
  const deniedBy = `admission webhook "${name}" denied the request`;
  let code = typeof r.code === 'number' ? r.code : 0;
  if (code < 400) code = 400;
  const message = str(r.message) ? `${deniedBy}: ${str(r.message)}` : str(r.reason) ? `${deniedBy}: ${str(r.reason)}` : `${deniedBy} without explanation`;
  return new StatusError(code, str(r.reason), message, isObj(r.details) ? (r.details as StatusDetails) : undefined);
}

// ---- the plugins --------------------------------------------------------------------------------

/** Whether `hook` is to be called for `req`; a matchCondition error counts as a call failure. */
function matches(hook: CompiledWebhook, req: AdmissionRequest, lookups: WebhookLookups, review: () => Obj): ResourceInfo | undefined {
  const matched = rulesMatch(hook.rules, hook.matchPolicy, req);
  if (!matched) return undefined;
  if (!selectorsMatch(hook.namespaceSelector, hook.objectSelector, req, lookups)) return undefined;
  if (hook.matchConditions.length) {
    const r = review();
    const vars = { object: toCel(r.object), oldObject: toCel(r.oldObject), request: celRequest(r) };
    const errors: string[] = [];
    for (const c of hook.matchConditions) {
      try {
        const v = evalCel(c.expression, vars);
        if (v === false) return undefined;
        if (v !== true) errors.push(`expression '${c.expression}' resulted in error: no such overload`);
      } catch (err) {
        errors.push(`expression '${c.expression}' resulted in error: ${(err as Error).message}`);
      }
    }
    if (errors.length) throw new CallingWebhookError(`matchCondition evaluation errors: ${errors.join(', ')}`);
  }
  return matched;
}

function webhookFailed(hook: CompiledWebhook, err: unknown): StatusError | undefined {
  if (!(err instanceof CallingWebhookError)) throw err;
  if (hook.failurePolicy === 'Ignore') return undefined;
  return internalError(`failed calling webhook "${hook.name}": ${err.message}`);
}

function checkDryRun(hook: CompiledWebhook, req: AdmissionRequest): void {
  if (req.dryRun && hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
    throw badRequest(`admission webhook "${hook.name}" does not support dry run`);
  }
}

function addWarnings(req: AdmissionRequest, response: Obj): void {
  for (const w of arr(response.warnings)) if (typeof w === 'string' && w.trim()) req.warnings.push(w.replace(/[\r\n]+/g, ' ').slice(0, 4096));
}

function reviewFor(req: AdmissionRequest, matched: ResourceInfo): Obj {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: admissionReviewRequest(req, matched, randomUUID()) };
}

/** ValidatingAdmissionWebhook: every matching webhook called at once; the first denial or failure (in order) rejects. */
export function validatingWebhookAdmission(lookups: WebhookLookups): AdmissionPlugin {
  const source = new WebhookSource(lookups, 'validatingwebhookconfigurations');
  return {
    name: 'ValidatingAdmissionWebhook',
    // Synchronous while no webhook is configured (see AdmissionChain).
    validate(req) {
      if (isExemptFromAdmissionHooks(req.resource) || req.operation === 'CONNECT') return;
      const hooks = source.webhooks();
      if (!hooks.length) return;
      return callAll(req, hooks);
    },
  };

  async function callAll(req: AdmissionRequest, hooks: readonly CompiledWebhook[]): Promise<void> {
    const calls: Promise<StatusError | undefined>[] = [];
    for (const hook of hooks) {
      let matched: ResourceInfo | undefined;
      try {
        matched = matches(hook, req, lookups, () => reviewFor(req, req.resource).request as Obj);
      } catch (err) {
        calls.push(Promise.resolve(webhookFailed(hook, err)));
        continue;
      }
      if (!matched) continue;
      checkDryRun(hook, req);
      const review = reviewFor(req, matched);
      calls.push(
        callWebhook(hook, lookups, review).then(
          (response) => {
            addWarnings(req, response);
            return response.allowed === true ? undefined : deniedError(hook.name, response.status);
          },
          (err) => webhookFailed(hook, err),
        ),
      );
    }
    for (const err of await Promise.all(calls)) if (err) throw err;
  }
}

/** MutatingAdmissionWebhook: matching webhooks called in order, their JSON patches applied; IfNeeded webhooks called again once when a later one changed the object. */
export function mutatingWebhookAdmission(lookups: WebhookLookups): AdmissionPlugin {
  const source = new WebhookSource(lookups, 'mutatingwebhookconfigurations');
  const runOne = async (hook: CompiledWebhook, req: AdmissionRequest): Promise<boolean> => {
    let matched: ResourceInfo | undefined;
    try {
      matched = matches(hook, req, lookups, () => reviewFor(req, req.resource).request as Obj);
    } catch (err) {
      const e = webhookFailed(hook, err);
      if (e) throw e;
      return false;
    }
    if (!matched) return false;
    checkDryRun(hook, req);
    const review = reviewFor(req, matched);
    let response: Obj;
    try {
      response = await callWebhook(hook, lookups, review);
    } catch (err) {
      const e = webhookFailed(hook, err);
      if (e) throw e;
      return false;
    }
    addWarnings(req, response);
    if (response.allowed !== true) throw deniedError(hook.name, response.status);
    if (!str(response.patch) || !req.object) return false;
    if (str(response.patchType) !== 'JSONPatch') throw internalError(`failed calling webhook "${hook.name}": unsupported patch type "${str(response.patchType)}"`);
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(str(response.patch), 'base64').toString('utf8'));
    } catch (err) {
      throw internalError(`failed calling webhook "${hook.name}": ${(err as Error).message}`);
    }
    let patched: KubeObject;
    try {
      patched = applyJsonPatch(req.object, ops);
    } catch (err) {
      throw internalError((err as Error).message);
    }
    if (jsonEqual(patched, req.object)) return false;
    if (patched.apiVersion !== req.object.apiVersion || patched.kind !== req.object.kind) {
      throw internalError(`failed calling webhook "${hook.name}": the patch changed the object's kind`);
    }
    const target = req.object as Obj;
    for (const k of Object.keys(target)) delete target[k];
    Object.assign(target, patched);
    return true;
  };
  return {
    name: 'MutatingAdmissionWebhook',
    // Synchronous while no webhook is configured (see AdmissionChain).
    admit(req) {
      if (isExemptFromAdmissionHooks(req.resource) || req.operation === 'CONNECT') return;
      const hooks = source.webhooks();
      if (!hooks.length) return;
      return runAll(req, hooks);
    },
  };

  async function runAll(req: AdmissionRequest, hooks: readonly CompiledWebhook[]): Promise<void> {
    // Webhooks with IfNeeded that ran before a later change are called once more.
    const invokedIfNeeded: CompiledWebhook[] = [];
    let reinvoke = new Set<CompiledWebhook>();
    for (const hook of hooks) {
      const changed = await runOne(hook, req);
      if (changed && invokedIfNeeded.length) {
        reinvoke = new Set([...reinvoke, ...invokedIfNeeded.filter((h) => h !== hook)]);
      }
      if (hook.reinvoke) invokedIfNeeded.push(hook);
    }
    for (const hook of hooks) if (reinvoke.has(hook)) await runOne(hook, req);
  }
}

/** Both webhook plugins of upstream's default chain. */
export const webhookAdmission = (lookups: WebhookLookups): { mutating: AdmissionPlugin; validating: AdmissionPlugin } => ({
  mutating: mutatingWebhookAdmission(lookups),
  validating: validatingWebhookAdmission(lookups),
});
