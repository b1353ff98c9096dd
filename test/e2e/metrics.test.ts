// Acceptance: resource usage from the kubelet (/stats/summary, /metrics/resource),
// metrics.k8s.io (`kubectl top`), the HorizontalPodAutoscaler scaling a CPU-burning
// Deployment up and back down, Prometheus /metrics on the API server and kubelet, and
// ephemeral containers (`kubectl debug`), with the real kubectl on real containers.
// Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, applyYaml, getPod, nodeNameOf, waitFor, waitForNodeReady, waitForPod } from './harness.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers';

const cluster = new Cluster('met-e2e');
let node = '';

const BURNER = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: burner
spec:
  replicas: 1
  selector: {matchLabels: {app: burner}}
  template:
    metadata: {labels: {app: burner}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "while true; do :; done"]
        resources: {requests: {cpu: 50m}, limits: {cpu: 200m}}
`;

describe('metrics, autoscaling and debugging', { skip }, () => {
  before(async () => {
    await cluster.up();
    node = nodeNameOf(cluster);
    await waitForNodeReady(cluster, 90_000);
    await applyYaml(
      cluster,
      'idle',
      `apiVersion: v1
kind: Pod
metadata:
  name: idle
  labels: {app: idle}
spec:
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo started; exec sleep 3600"]
    resources: {requests: {cpu: 10m, memory: 8Mi, ephemeral-storage: 16Mi}}
  - name: side
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exec sleep 3600"]
`,
    );
    await waitForPod(cluster, 'idle', 'Running', (p) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.ready), 90_000);
  });

  after(async () => {
    await cluster.down();
  });

  test('nodes report ephemeral-storage; a pod requesting it schedules', async () => {
    const n = JSON.parse(await cluster.k(['get', 'node', node, '-o', 'json']));
    assert.ok(Number(String(n.status.capacity['ephemeral-storage']).replace(/Ki$/, '')) > 0, JSON.stringify(n.status.capacity));
    assert.notEqual(n.status.allocatable['ephemeral-storage'], '0');
    const p = await getPod(cluster, 'idle');
    assert.equal(p.spec.nodeName, node);
  });

  test('kubelet /stats/summary and /metrics/resource report containers and pods', async () => {
    const base = `/api/v1/nodes/${node}/proxy`;
    const summary = await waitFor(
      'pod stats with CPU rates',
      async () => {
        const s = JSON.parse(await cluster.k(['get', '--raw', `${base}/stats/summary`]));
        const pod = (s.pods ?? []).find((x: any) => x.podRef?.name === 'idle');
        return pod && pod.cpu?.usageNanoCores !== undefined && pod.containers?.length === 2 ? s : undefined;
      },
      60_000,
      1000,
    );
    assert.equal(summary.node.nodeName, node);
    assert.ok(summary.node.cpu.usageCoreNanoSeconds > 0);
    assert.ok(summary.node.memory.workingSetBytes > 0);
    assert.ok(summary.node.fs.capacityBytes > 0);
    const pod = summary.pods.find((x: any) => x.podRef.name === 'idle');
    assert.equal(pod.podRef.namespace, 'default');
    assert.deepEqual(pod.containers.map((c: any) => c.name).sort(), ['main', 'side']);
    for (const c of pod.containers) {
      assert.ok(c.memory.workingSetBytes > 0, JSON.stringify(c));
      assert.ok(c.cpu.usageCoreNanoSeconds >= 0);
    }
    const text = await cluster.k(['get', '--raw', `${base}/metrics/resource`]);
    assert.match(text, /# TYPE container_cpu_usage_seconds_total counter/);
    assert.match(text, /container_cpu_usage_seconds_total\{container="main",namespace="default",pod="idle"\} [\d.e+-]+ \d+/);
    assert.match(text, /container_memory_working_set_bytes\{container="side",namespace="default",pod="idle"\} \d+/);
    assert.match(text, /pod_cpu_usage_seconds_total\{namespace="default",pod="idle"\}/);
    assert.match(text, /node_cpu_usage_seconds_total [\d.]+/);
    assert.match(text, /node_memory_working_set_bytes \d+/);
    assert.match(text, /resource_scrape_error 0/);
    // The kubelet's own metrics at /metrics (routed apart from /metrics/resource).
    const own = await cluster.k(['get', '--raw', `${base}/metrics`]);
    assert.match(own, /kubelet_running_pods [1-9]/);
    assert.match(own, /kubelet_running_containers\{container_state="running"\} [2-9]/);
    assert.doesNotMatch(own, /container_cpu_usage_seconds_total/);
  });

  test('metrics.k8s.io: discovery and kubectl top nodes / pods', async () => {
    const rl = JSON.parse(await cluster.k(['get', '--raw', '/apis/metrics.k8s.io/v1beta1']));
    assert.deepEqual(
      rl.resources.map((r: any) => [r.name, r.kind, r.namespaced, r.verbs]),
      [
        ['nodes', 'NodeMetrics', false, ['get', 'list']],
        ['pods', 'PodMetrics', true, ['get', 'list']],
      ],
    );
    const nodes = await waitFor('kubectl top nodes', async () => {
      const r = await cluster.kubectl(['top', 'nodes']);
      return r.code === 0 ? r.stdout : undefined;
    }, 60_000, 2000);
    assert.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU(\(%\))?\s+MEMORY\(bytes\)\s+MEMORY(\(%\))?/);
    assert.match(nodes, new RegExp(`${node}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));
    const pods = await waitFor('kubectl top pods', async () => {
      const r = await cluster.kubectl(['top', 'pods']);
      return r.code === 0 && r.stdout.includes('idle') ? r.stdout : undefined;
    }, 60_000, 2000);
    assert.match(pods, /idle\s+\d+m\s+\d+Mi/);
    const all = await cluster.k(['top', 'pods', '-A', '--containers']);
    assert.match(all, /NAMESPACE\s+POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    assert.match(all, /default\s+idle\s+main\s+\d+m\s+\d+Mi/);
    assert.match(all, /default\s+idle\s+side\s+\d+m\s+\d+Mi/);
    const byLabel = await cluster.k(['top', 'pods', '-l', 'app=idle']);
    assert.match(byLabel, /idle/);
    const pm = JSON.parse(await cluster.k(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/idle']));
    assert.equal(pm.kind, 'PodMetrics');
    assert.equal(pm.metadata.labels.app, 'idle');
    assert.match(pm.containers[0].usage.cpu, /^\d+n$/);
    const missing = await cluster.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /podmetrics|pods.metrics.k8s.io "nope" not found/);
    // Authorized as any resource: a user without rights is refused.
    const denied = await cluster.kubectl(['top', 'pods', '--as', 'nobody']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden/i);
  });

  test('an HPA scales a CPU-burning Deployment up and back down', async () => {
    await applyYaml(
      cluster,
      'burner',
      `${BURNER}---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: burner
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burner}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 5}
`,
    );
    const up = await waitFor(
      'scale up to 3',
      async () => {
        const h = JSON.parse(await cluster.k(['get', 'hpa', 'burner', '-o', 'json']));
        return h.status?.desiredReplicas === 3 ? h : undefined;
      },
      150_000,
      2000,
    );
    assert.ok(up.status.lastScaleTime);
    const metric = up.status.currentMetrics[0];
    assert.equal(metric.type, 'Resource');
    assert.equal(metric.resource.name, 'cpu');
    assert.ok(metric.resource.current.averageUtilization > 50, JSON.stringify(metric));
    const cond = Object.fromEntries(up.status.conditions.map((c: any) => [c.type, c]));
    assert.deepEqual(Object.keys(cond), ['AbleToScale', 'ScalingActive', 'ScalingLimited']);
    assert.equal(cond.ScalingActive.status, 'True');
    assert.equal(cond.ScalingActive.reason, 'ValidMetricFound');
    await waitFor('deployment at 3', async () => JSON.parse(await cluster.k(['get', 'deploy', 'burner', '-o', 'json'])).spec.replicas === 3, 30_000, 1000);
    const table = await cluster.k(['get', 'hpa', 'burner']);
    assert.match(table, /NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE/);
    assert.match(table, /burner\s+Deployment\/burner\s+cpu: \d+%\/50%\s+1\s+3\s+\d/);
    const events = await cluster.k(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale', '-o', 'json']);
    assert.ok(JSON.parse(events).items.some((e: any) => /^New size: 3; reason: cpu resource utilization \(percentage of request\) above target$/.test(e.message)), events);

    // The load stops: the pods idle and the HPA scales back to its minimum.
    await cluster.k(['patch', 'deployment', 'burner', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/command","value":["sh","-c","exec sleep 3600"]}]']);
    await waitFor(
      'scale down to 1',
      async () => {
        const h = JSON.parse(await cluster.k(['get', 'hpa', 'burner', '-o', 'json']));
        return h.status?.desiredReplicas === 1 && h.spec ? h : undefined;
      },
      180_000,
      2000,
    );
    await waitFor('deployment at 1', async () => JSON.parse(await cluster.k(['get', 'deploy', 'burner', '-o', 'json'])).spec.replicas === 1, 30_000, 1000);
    const down = await cluster.k(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale', '-o', 'json']);
    assert.ok(JSON.parse(down).items.some((e: any) => e.message === 'New size: 1; reason: All metrics below target'), down);
    await cluster.k(['delete', 'hpa', 'burner']);
    await cluster.k(['delete', 'deployment', 'burner', '--wait=false']);
  });

  test('an HPA whose pods have no requests says why (FailedGetResourceMetric)', async () => {
    await applyYaml(
      cluster,
      'norequests',
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: noreq
spec:
  replicas: 1
  selector: {matchLabels: {app: noreq}}
  template:
    metadata: {labels: {app: noreq}}
    spec:
      containers:
      - name: main
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "exec sleep 3600"]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: noreq
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: noreq}
  maxReplicas: 2
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 50}}
`,
    );
    const h = await waitFor(
      'ScalingActive False',
      async () => {
        const o = JSON.parse(await cluster.k(['get', 'hpa', 'noreq', '-o', 'json']));
        const c = (o.status?.conditions ?? []).find((x: any) => x.type === 'ScalingActive');
        return c?.status === 'False' && /missing request for memory/.test(c.message) ? o : undefined;
      },
      90_000,
      2000,
    );
    const c = h.status.conditions.find((x: any) => x.type === 'ScalingActive');
    assert.equal(c.reason, 'FailedGetResourceMetric');
    assert.match(c.message, /^the HPA was unable to compute the replica count: failed to get memory utilization: missing request for memory in container main of Pod noreq-/);
    const ev = await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=noreq,reason=FailedGetResourceMetric', '-o', 'name']);
    assert.ok(ev.trim().length > 0);
    await cluster.k(['delete', 'hpa', 'noreq']);
    await cluster.k(['delete', 'deployment', 'noreq', '--wait=false']);
  });

  test('/metrics in Prometheus text format on the API server (nonResourceURL)', async () => {
    await cluster.k(['get', 'pods']);
    const text = await cluster.k(['get', '--raw', '/metrics']);
    assert.match(text, /# TYPE apiserver_request_total counter/);
    assert.match(text, /apiserver_request_total\{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver",code="200"\} \d+/);
    assert.match(text, /apiserver_request_duration_seconds_bucket\{verb="GET",[^}]*le="\+Inf"\} \d+/);
    assert.match(text, /apiserver_current_inflight_requests\{request_kind="readOnly"\} \d+/);
    assert.match(text, /apiserver_storage_objects\{resource="pods"\} \d+/);
    assert.match(text, /apiserver_storage_objects\{resource="deployments.apps"\} \d+/);
    assert.match(text, /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} [1-9]/);
    assert.match(text, /scheduler_pending_pods\{queue="active"\} \d+/);
    assert.match(text, /workqueue_depth\{name="deployment"\} \d+/);
    assert.match(text, /workqueue_adds_total\{name="deployment"\} [1-9]/);
    assert.match(text, /workqueue_queue_duration_seconds_count\{name="deployment"\} [1-9]/);
    const denied = await cluster.kubectl(['get', '--raw', '/metrics', '--as', 'nobody']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden/i);
  });

  test('kubectl debug --target runs an ephemeral container in the pod\'s namespaces', async () => {
    // Stdin stays open until the output has come back, as with a user at a terminal:
    // kubectl debug doesn't set stdinOnce, so closing stdin ends the attach (upstream's
    // containerd detaches the output streams then) and later output would be lost.
    const r = cluster.spawnKubectl(['debug', 'idle', '-i', '--image=busybox', '--image-pull-policy=IfNotPresent', '--target=main', '--container=dbg', '--', 'sh', '-c', 'read x; echo got:$x; ps; echo debug-done; sleep 1']);
    r.stdin.write('hello-debug\n');
    try {
      await waitFor('debug output', async () => (/debug-done/.test(r.output()) ? true : undefined), 90_000);
    } finally {
      r.stdin.end();
    }
    assert.equal(await r.exited, 0, r.output());
    assert.match(r.output(), /got:hello-debug/);
    // The target's PID namespace: its process is PID 1 there.
    assert.match(r.output(), /^\s*1 root\s+sleep 3600$/m);
    const p = await waitForPod(cluster, 'idle', 'dbg terminated', (x) => !!(x.status?.ephemeralContainerStatuses ?? []).find((c: any) => c.name === 'dbg')?.state?.terminated, 30_000);
    const st = p.status.ephemeralContainerStatuses.find((c: any) => c.name === 'dbg');
    assert.equal(st.state.terminated.exitCode, 0);
    assert.equal(st.ready, false);
    assert.match(st.containerID, /^containerd:\/\//);
    assert.equal(p.spec.ephemeralContainers.find((c: any) => c.name === 'dbg').targetContainerName, 'main');
    // The pod's own containers were not touched.
    assert.ok(p.status.containerStatuses.every((c: any) => c.restartCount === 0 && c.state.running));
  });

  test('kubectl debug with a missing image shows an error status and events, never hangs', async () => {
    const r = await cluster.kubectl(['debug', 'idle', '--image=nosuchimage.invalid/none:1', '--container=broken', '--', 'true'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const p = await waitForPod(
      cluster,
      'idle',
      'broken waiting on the image',
      (x) => /ErrImagePull|ImagePullBackOff/.test((x.status?.ephemeralContainerStatuses ?? []).find((c: any) => c.name === 'broken')?.state?.waiting?.reason ?? ''),
      60_000,
    );
    const st = p.status.ephemeralContainerStatuses.find((c: any) => c.name === 'broken');
    assert.match(st.state.waiting.message ?? '', /nosuchimage\.invalid/);
    const ev = JSON.parse(await cluster.k(['get', 'events', '--field-selector', 'involvedObject.name=idle,reason=Failed', '-o', 'json']));
    assert.ok(ev.items.some((e: any) => e.involvedObject.fieldPath === 'spec.ephemeralContainers{broken}' && /Failed to pull image "nosuchimage.invalid\/none:1"/.test(e.message)), JSON.stringify(ev.items.map((e: any) => e.message)));
  });
});
