// Pods that run the host's python3: a busybox container with the host's /usr, /lib and
// /lib64 mounted read-only, so the tests that need a Python program in the cluster (an
// HTTPS backend, the official Python client) pull no Python image. Shared by the
// aggregation, webhook, in-cluster and operator acceptance tests.
import { existsSync } from 'node:fs';
import { createCA, issueServingCert } from '../../machinery/pki.js';
import type { Cluster } from './harness.js';
import { applyYaml, run, waitForServiceEndpoints } from './harness.js';

export const PYTHON = '/usr/bin/python3';

/** Why a test that runs the host's python3 in pods must be skipped, or false. */
export function hostPythonSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for a real node';
  if (!existsSync(PYTHON)) return 'needs the host python3';
  return false;
}

/** Like `hostPythonSkip`, and the host's python3 must also import `module` (a Debian python3-<module> package). */
export async function hostPythonModuleSkip(module: string): Promise<string | false> {
  const skip = hostPythonSkip();
  if (skip) return skip;
  return (await run(PYTHON, ['-c', `import ${module}`])).code === 0 ? false : `python3-${module} is not installed`;
}

/** A ConfigMap or Secret mounted into the python container (its script, certificates). */
export interface MountedFiles {
  name: string;
  mountPath: string;
  configMap?: string;
  secret?: string;
}

export interface HostPythonPod {
  containerName: string;
  /** The command, `PYTHON` first. */
  command: string[];
  files: MountedFiles[];
  /** More fields of the container (ports, probes). */
  container?: Record<string, unknown>;
  /** More fields of the pod spec (serviceAccountName, restartPolicy). */
  pod?: Record<string, unknown>;
}

/** The pod spec of one busybox container running the host's python3. */
export function hostPythonPodSpec(p: HostPythonPod): Record<string, unknown> {
  const hostDirs = [
    { name: 'usr', mountPath: '/usr', hostPath: '/usr' },
    { name: 'lib', mountPath: '/lib', hostPath: '/usr/lib' },
    { name: 'lib64', mountPath: '/lib64', hostPath: '/usr/lib64' },
  ];
  return {
    ...p.pod,
    containers: [
      {
        name: p.containerName,
        image: 'busybox',
        imagePullPolicy: 'IfNotPresent',
        command: p.command,
        ...p.container,
        volumeMounts: [
          ...hostDirs.map((d) => ({ name: d.name, mountPath: d.mountPath, readOnly: true })),
          ...p.files.map((f) => ({ name: f.name, mountPath: f.mountPath })),
        ],
      },
    ],
    volumes: [
      ...hostDirs.map((d) => ({ name: d.name, hostPath: { path: d.hostPath } })),
      ...p.files.map((f) => (f.secret !== undefined ? { name: f.name, secret: { secretName: f.secret } } : { name: f.name, configMap: { name: f.configMap } })),
    ],
  };
}

/** A one-replica Deployment `name` (pods labelled app=<name>) running the host's python3; JSON, which kubectl reads as YAML. */
export function hostPythonDeployment(namespace: string, name: string, p: HostPythonPod): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: hostPythonPodSpec(p) },
    },
  });
}

export interface PythonHttpsServer {
  /** Namespace, already created. */
  namespace: string;
  /** Name of the Deployment and Service; the certificate is for `<name>.<namespace>.svc`. */
  name: string;
  /** The server: listens on 8443 with the certificate in /tls/tls.crt and /tls/tls.key. */
  script: string;
  /** More ConfigMaps or Secrets the server reads. */
  files?: MountedFiles[];
}

/**
 * Runs `script` as the Deployment and Service `name` (Service port 443 to the pod's
 * 8443), with a serving certificate from a new CA in the Secret `<name>-tls` and the
 * script in the ConfigMap `<name>-server`, and waits until the Service has a ready
 * endpoint. Returns the CA certificate, base64, for a caBundle.
 */
export async function deployPythonHttpsServer(cluster: Cluster, s: PythonHttpsServer): Promise<string> {
  const { namespace, name } = s;
  const ca = await createCA(`${namespace}-ca`);
  const serving = await issueServingCert(ca, { commonName: name, dnsNames: [`${name}.${namespace}.svc`] });
  const crt = cluster.writeFile('tls.crt', serving.cert);
  const key = cluster.writeFile('tls.key', serving.key);
  await cluster.k(['create', 'secret', 'tls', `${name}-tls`, '-n', namespace, `--cert=${crt}`, `--key=${key}`]);
  await cluster.k(['create', 'configmap', `${name}-server`, '-n', namespace, `--from-literal=server.py=${s.script}`]);
  const deployment = hostPythonDeployment(namespace, name, {
    containerName: 'server',
    command: [PYTHON, '/script/server.py'],
    container: {
      ports: [{ name: 'https', containerPort: 8443 }],
      readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
    },
    files: [{ name: 'script', mountPath: '/script', configMap: `${name}-server` }, { name: 'tls', mountPath: '/tls', secret: `${name}-tls` }, ...(s.files ?? [])],
  });
  const service = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
  });
  await applyYaml(cluster, name, `${deployment}\n---\n${service}\n`);
  await waitForServiceEndpoints(cluster, namespace, name, true);
  return Buffer.from(ca.cert).toString('base64');
}
