// Container environment (upstream: kubelet_pods.go makeEnvironmentVariables,
// envvars/envvars.go, fieldpath, third_party/forked/golang/expansion):
// envFrom (ConfigMaps, Secrets, prefixes), env with $(VAR) expansion and
// valueFrom (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef), the
// service link variables, and $(VAR) expansion of command and args.
import type { ConfigMap, Container, EnvVar, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import { bytesOf, milliCPU, quantityValue } from './resources.js';

/** Raised when a container cannot be configured (waiting reason CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

// ---------------------------------------------------------------- $(VAR) expansion

export type Mapping = (name: string) => string;

/** A mapping over maps tried in order; unknown names expand to themselves, `$(NAME)`. */
export function mappingFuncFor(...contexts: Array<Map<string, string> | Record<string, string>>): Mapping {
  return (name) => {
    for (const c of contexts) {
      if (c instanceof Map) {
        if (c.has(name)) return c.get(name)!;
      } else if (Object.prototype.hasOwnProperty.call(c, name)) {
        return c[name]!;
      }
    }
    return `$(${name})`;
  };
}

/** Expands $(VAR) references; `$$` escapes a dollar; incomplete references stay as they are. */
export function expand(input: string, mapping: Mapping): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === '$' && cursor + 1 < input.length) {
      out += input.slice(checkpoint, cursor);
      const rest = input.slice(cursor + 1);
      let read: string;
      let isVar = false;
      let advance: number;
      if (rest[0] === '$') {
        read = '$';
        advance = 1;
      } else if (rest[0] === '(') {
        const close = rest.indexOf(')', 1);
        if (close >= 0) {
          read = rest.slice(1, close);
          isVar = true;
          advance = close + 1;
        } else {
          read = '$(';
          advance = 1;
        }
      } else {
        read = '$' + rest[0];
        advance = 1;
      }
      out += isVar ? mapping(read) : read;
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return out + input.slice(checkpoint);
}

const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function isEnvVarName(name: string): boolean {
  return ENV_VAR_NAME.test(name);
}

// ---------------------------------------------------------------- service links

const MASTER_SERVICES = new Set(['kubernetes']);

function envName(s: string): string {
  return s.replace(/-/g, '_').toUpperCase();
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/** The environment variables of a set of services (upstream envvars.FromServices). */
export function serviceEnvVars(services: Service[]): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const svc of services) {
    if (!isServiceIPSet(svc)) continue;
    const ports = svc.spec?.ports ?? [];
    if (ports.length === 0) continue;
    const ip = svc.spec!.clusterIP!;
    const prefix = envName(svc.metadata?.name ?? '');
    out.push({ name: `${prefix}_SERVICE_HOST`, value: ip });
    const portName = `${prefix}_SERVICE_PORT`;
    out.push({ name: portName, value: String(ports[0]!.port) });
    for (const p of ports) if (p.name) out.push({ name: `${portName}_${envName(p.name)}`, value: String(p.port) });
    ports.forEach((p, i) => {
      const proto = p.protocol || 'TCP';
      const url = `${proto.toLowerCase()}://${joinHostPort(ip, p.port)}`;
      if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push({ name: pp, value: url });
      out.push({ name: `${pp}_PROTO`, value: proto.toLowerCase() });
      out.push({ name: `${pp}_PORT`, value: String(p.port) });
      out.push({ name: `${pp}_ADDR`, value: ip });
    });
  }
  return out;
}

/** Service variables a pod in `namespace` gets (the master services always, its namespace's with service links). */
export function serviceEnvMap(allServices: Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const byName = new Map<string, Service>();
  for (const svc of allServices) {
    if (!isServiceIPSet(svc)) continue;
    const name = svc.metadata?.name ?? '';
    if (svc.metadata?.namespace === 'default' && MASTER_SERVICES.has(name)) {
      if (!byName.has(name)) byName.set(name, svc);
    } else if (svc.metadata?.namespace === namespace && enableServiceLinks) {
      byName.set(name, svc);
    }
  }
  const sorted = [...byName.keys()].sort().map((k) => byName.get(k)!);
  return new Map(serviceEnvVars(sorted).map((e) => [e.name, e.value]));
}

// ---------------------------------------------------------------- downward API

function formatMap(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.map((k) => `${k}=${JSON.stringify(m![k])}\n`).join('');
}

export interface PodRuntimeFacts {
  podIPs: string[];
  hostIPs: string[];
}

/** Value of a fieldRef path for a pod (upstream podFieldSelectorRuntimeValue + fieldpath.ExtractFieldPathAsString). */
export function podFieldValue(pod: Pod, fieldPath: string, facts: PodRuntimeFacts): string {
  const md = pod.metadata ?? {};
  switch (fieldPath) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return facts.hostIPs[0] ?? '';
    case 'status.hostIPs':
      return facts.hostIPs.join(',');
    case 'status.podIP':
      return facts.podIPs[0] ?? '';
    case 'status.podIPs':
      return facts.podIPs.join(',');
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.annotations':
      return formatMap(md.annotations);
  }
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const m = sub[1] === 'labels' ? md.labels : md.annotations;
    return m?.[sub[2]!] ?? '';
  }
  throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
}

export interface NodeAllocatable {
  cpuMilli: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
}

/** Value of a resourceFieldRef (upstream ExtractContainerResourceValue, limits defaulted to node allocatable). */
export function resourceFieldValue(
  container: Container,
  resource: string,
  divisor: string | number | undefined,
  allocatable: NodeAllocatable,
): string {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const divisorValue = divisor === undefined || divisor === '' || quantityValue(divisor) === 0 ? 1 : quantityValue(divisor) ?? 1;
  const cpu = (milli: number | undefined) => String(Math.ceil((milli ?? 0) / (divisorValue * 1000)));
  const mem = (bytes: number | undefined) => String(Math.ceil((bytes ?? 0) / divisorValue));
  switch (resource) {
    case 'limits.cpu':
      return cpu(milliCPU(limits.cpu as string | undefined) ?? allocatable.cpuMilli);
    case 'limits.memory':
      return mem(bytesOf(limits.memory as string | undefined) ?? allocatable.memoryBytes);
    case 'limits.ephemeral-storage':
      return mem(bytesOf(limits['ephemeral-storage'] as string | undefined) ?? allocatable.ephemeralStorageBytes);
    case 'requests.cpu':
      return cpu(milliCPU(requests.cpu as string | undefined) ?? 0);
    case 'requests.memory':
      return mem(bytesOf(requests.memory as string | undefined) ?? 0);
    case 'requests.ephemeral-storage':
      return mem(bytesOf(requests['ephemeral-storage'] as string | undefined) ?? 0);
  }
  const huge = /^(limits|requests)\.(hugepages-.+)$/.exec(resource);
  if (huge) {
    const m = huge[1] === 'limits' ? limits : requests;
    return mem(bytesOf(m[huge[2]!] as string | undefined) ?? 0);
  }
  throw new ContainerConfigError(`unsupported container resource: ${resource}`);
}

// ---------------------------------------------------------------- the environment

export interface EnvSources {
  /** undefined when the object does not exist */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  services(): Service[];
  allocatable: NodeAllocatable;
  /** warning events (invalid keys) */
  warn?(reason: string, message: string): void;
}

function decodeSecret(s: Secret, key: string): string | undefined {
  const v = s.data?.[key];
  if (v !== undefined) return Buffer.from(v, 'base64').toString('utf8');
  return s.stringData?.[key];
}

function secretKeys(s: Secret): string[] {
  return [...new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])];
}

/**
 * The environment of `container` in `pod`, in the order upstream builds it:
 * envFrom sources, then env (later definitions win), then service variables
 * not already defined.
 */
export async function containerEnv(pod: Pod, container: Container, facts: PodRuntimeFacts, src: EnvSources): Promise<Array<{ name: string; value: string }>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const enableServiceLinks = pod.spec?.enableServiceLinks ?? true;
  const serviceEnv = serviceEnvMap(src.services(), ns, enableServiceLinks);
  const env = new Map<string, string>();

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const invalid: string[] = [];
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await src.configMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      const all = { ...(cm.data ?? {}) };
      for (const [k, v] of Object.entries(all)) {
        const key = prefix + k;
        if (!isEnvVarName(key)) {
          invalid.push(key);
          continue;
        }
        env.set(key, v);
      }
      if (invalid.length) src.warn?.('InvalidEnvironmentVariableNames', `Keys [${invalid.sort().join(', ')}] from the EnvFrom configMap ${ns}/${name} were skipped since they are considered invalid environment variable names.`);
    }
    if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const s = await src.secret(ns, name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const k of secretKeys(s)) {
        const key = prefix + k;
        if (!isEnvVarName(key)) {
          invalid.push(key);
          continue;
        }
        env.set(key, decodeSecret(s, k) ?? '');
      }
      if (invalid.length) src.warn?.('InvalidEnvironmentVariableNames', `Keys [${invalid.sort().join(', ')}] from the EnvFrom secret ${ns}/${name} were skipped since they are considered invalid environment variable names.`);
    }
  }

  for (const e of container.env ?? []) {
    const value = await envValue(pod, container, e, env, serviceEnv, facts, src);
    if (value === undefined) continue; // optional source missing
    env.set(e.name, value);
  }

  for (const [k, v] of serviceEnv) if (!env.has(k)) env.set(k, v);
  return [...env].map(([name, value]) => ({ name, value }));
}

async function envValue(
  pod: Pod,
  container: Container,
  e: EnvVar,
  env: Map<string, string>,
  serviceEnv: Map<string, string>,
  facts: PodRuntimeFacts,
  src: EnvSources,
): Promise<string | undefined> {
  const ns = pod.metadata?.namespace ?? 'default';
  const vf = e.valueFrom;
  if (e.value || !vf) return expand(e.value ?? '', mappingFuncFor(env, serviceEnv));
  if (vf.fieldRef) return podFieldValue(pod, vf.fieldRef.fieldPath, facts);
  if (vf.resourceFieldRef) {
    const target = vf.resourceFieldRef.containerName
      ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === vf.resourceFieldRef!.containerName)
      : container;
    if (!target) throw new ContainerConfigError(`container ${vf.resourceFieldRef.containerName} not found`);
    return resourceFieldValue(target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor as string | number | undefined, src.allocatable);
  }
  if (vf.configMapKeyRef) {
    const { name = '', key, optional } = vf.configMapKeyRef;
    const cm = await src.configMap(ns, name);
    if (!cm) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    const v = cm.data?.[key];
    if (v === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
    }
    return v;
  }
  if (vf.secretKeyRef) {
    const { name = '', key, optional } = vf.secretKeyRef;
    const s = await src.secret(ns, name);
    if (!s) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    const v = decodeSecret(s, key);
    if (v === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
    }
    return v;
  }
  return expand(e.value ?? '', mappingFuncFor(env, serviceEnv));
}

/** $(VAR) expansion of command and args against the final environment. */
export function expandCommand(container: Container, env: Array<{ name: string; value: string }>): { command: string[]; args: string[] } {
  const map = new Map(env.map((e) => [e.name, e.value]));
  const mapping = mappingFuncFor(map);
  return {
    command: (container.command ?? []).map((c) => expand(c, mapping)),
    args: (container.args ?? []).map((a) => expand(a, mapping)),
  };
}
