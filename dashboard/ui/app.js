// The kite dashboard, in the browser: plain ES modules, no framework. Every API call
// goes to the dashboard server, which forwards it as the user's kubeconfig identity.
import { parse as parseYaml, stringify as toYaml } from '/vendor/yaml/index.js';
import { applyPatch, describePatch } from '/lib/diff.js';

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(typeof body === 'object' && body && body.message ? body.message : `HTTP ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, contentType = 'application/json') {
  const init = { method, headers: { 'X-Kite-Dashboard': '1', Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = contentType;
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text answer
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

/** Streams the lines of a long answer (watch, log follow) until the page changes. */
async function streamLines(path, onLine, signal) {
  const res = await fetch(path, { headers: { 'X-Kite-Dashboard': '1' }, signal });
  if (!res.ok) throw new ApiError(res.status, await res.text());
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) onLine(buf);
}

/** Paths of the resources the UI shows. */
const R = {
  nodes: { group: '', version: 'v1', plural: 'nodes', namespaced: false, kind: 'Node' },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', namespaced: false, kind: 'Namespace' },
  pods: { group: '', version: 'v1', plural: 'pods', namespaced: true, kind: 'Pod' },
  services: { group: '', version: 'v1', plural: 'services', namespaced: true, kind: 'Service' },
  configmaps: { group: '', version: 'v1', plural: 'configmaps', namespaced: true, kind: 'ConfigMap' },
  secrets: { group: '', version: 'v1', plural: 'secrets', namespaced: true, kind: 'Secret' },
  events: { group: '', version: 'v1', plural: 'events', namespaced: true, kind: 'Event' },
  persistentvolumeclaims: { group: '', version: 'v1', plural: 'persistentvolumeclaims', namespaced: true, kind: 'PersistentVolumeClaim' },
  persistentvolumes: { group: '', version: 'v1', plural: 'persistentvolumes', namespaced: false, kind: 'PersistentVolume' },
  serviceaccounts: { group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true, kind: 'ServiceAccount' },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true, kind: 'Deployment' },
  statefulsets: { group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true, kind: 'StatefulSet' },
  daemonsets: { group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true, kind: 'DaemonSet' },
  replicasets: { group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true, kind: 'ReplicaSet' },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs', namespaced: true, kind: 'Job' },
  cronjobs: { group: 'batch', version: 'v1', plural: 'cronjobs', namespaced: true, kind: 'CronJob' },
  ingresses: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true, kind: 'Ingress' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true, kind: 'EndpointSlice' },
  storageclasses: { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses', namespaced: false, kind: 'StorageClass' },
};

function pathOf(r, namespace, name, sub) {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
}

const list = (r, namespace, query = '') => api('GET', pathOf(r, namespace) + query);

/**
 * Keeps `items` (by namespace/name) in step with the API: a list, then a watch from its
 * resourceVersion; relists when the watch ends or expires. Calls `changed` after each batch.
 */
function liveList(page, r, namespace, changed, query = '') {
  const items = new Map();
  const key = (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  let scheduled = false;
  const notify = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      changed([...items.values()]);
    });
  };
  (async () => {
    while (!page.signal.aborted) {
      try {
        const l = await list(r, namespace, query ? `?${query}` : '');
        items.clear();
        for (const o of l.items) items.set(key(o), o);
        notify();
        const q = new URLSearchParams(query);
        q.set('watch', '1');
        q.set('resourceVersion', l.metadata.resourceVersion);
        q.set('allowWatchBookmarks', 'true');
        let expired = false;
        await streamLines(
          `${pathOf(r, namespace)}?${q}`,
          (line) => {
            if (!line.trim()) return;
            const ev = JSON.parse(line);
            if (ev.type === 'ERROR') expired = true;
            else if (ev.type === 'DELETED') items.delete(key(ev.object));
            else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') items.set(key(ev.object), ev.object);
            if (ev.type !== 'BOOKMARK') notify();
          },
          page.signal,
        );
        if (!expired) await sleep(500);
      } catch (err) {
        if (page.signal.aborted) return;
        page.error(err);
        await sleep(2000);
      }
    }
  })();
  return items;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- DOM ------------------------------------------------------------------------------------

/** h('a', {href}, 'text', child…): elements from data, text always as text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function table(headers, rows, empty = 'none') {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, empty))));
}

function age(ts) {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function flash(msg) {
  const el = document.getElementById('flash');
  el.textContent = msg;
  clearTimeout(flash.t);
  flash.t = setTimeout(() => (el.textContent = ''), 4000);
}

const objRoute = (r, o) => `${r.group || 'core'}/${r.version}/${r.plural}/${o.metadata.namespace ?? '-'}/${encodeURIComponent(o.metadata.name)}`;
const objLinks = (r, o) => [h('a', { href: `#/yaml/${objRoute(r, o)}` }, 'YAML'), h('a', { href: `#/history/${objRoute(r, o)}` }, 'History')];

// ---- pages ----------------------------------------------------------------------------------

const state = { namespace: 'default' };

const pages = {
  async overview(page) {
    const [nodes, pods, deploys, nss] = await Promise.all([list(R.nodes), list(R.pods), list(R.deployments), list(R.namespaces)]);
    const phases = {};
    for (const p of pods.items) phases[p.status?.phase ?? 'Unknown'] = (phases[p.status?.phase ?? 'Unknown'] ?? 0) + 1;
    page.main.append(
      h('h2', {}, 'Cluster overview'),
      h('div', { class: 'cards' }, [
        h('div', { class: 'card' }, h('b', {}, nodes.items.length), 'nodes'),
        h('div', { class: 'card' }, h('b', {}, nss.items.length), 'namespaces'),
        h('div', { class: 'card' }, h('b', {}, deploys.items.length), 'deployments'),
        h('div', { class: 'card' }, h('b', {}, pods.items.length), 'pods: ', Object.entries(phases).map(([k, v]) => `${v} ${k}`).join(', ')),
      ]),
      h('h3', {}, 'Nodes'),
      table(
        ['Name', 'Status', 'CPU', 'Memory', 'Pods', 'Version', 'Age'],
        nodes.items.map((n) => {
          const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
          const cap = n.status?.capacity ?? {};
          const alloc = n.status?.allocatable ?? {};
          const podCount = pods.items.filter((p) => p.spec?.nodeName === n.metadata.name).length;
          return h(
            'tr',
            {},
            h('td', {}, h('a', { href: `#/yaml/${objRoute(R.nodes, n)}` }, n.metadata.name)),
            h('td', { class: ready?.status === 'True' ? 'ok' : 'bad' }, ready?.status === 'True' ? 'Ready' : 'NotReady', n.spec?.unschedulable ? ',SchedulingDisabled' : ''),
            h('td', {}, `${alloc.cpu ?? '?'} / ${cap.cpu ?? '?'}`),
            h('td', {}, `${alloc.memory ?? '?'} / ${cap.memory ?? '?'}`),
            h('td', {}, `${podCount} / ${alloc.pods ?? cap.pods ?? '?'}`),
            h('td', {}, n.status?.nodeInfo?.kubeletVersion ?? ''),
            h('td', {}, age(n.metadata.creationTimestamp)),
          );
        }),
      ),
      h('p', { class: 'muted' }, 'CPU, memory and pods: allocatable / capacity.'),
    );
  },

  async workloads(page) {
    const ns = state.namespace;
    const deploySection = h('div');
    const stsSection = h('div');
    const otherSection = h('div');
    page.main.append(h('h2', {}, `Workloads in ${ns}`), h('h3', {}, 'Deployments'), deploySection, h('h3', {}, 'StatefulSets'), stsSection, otherSection);

    // What the user typed survives the re-render each watch event causes.
    const typed = new Map();
    const scaler = (r, o) => {
      const id = `${r.plural}/${o.metadata.name}`;
      const input = h('input', { type: 'number', min: 0, value: typed.get(id) ?? o.spec?.replicas ?? 1, 'data-testid': `scale-input-${o.metadata.name}`, oninput: (e) => typed.set(id, e.target.value) });
      const go = h('button', {
        'data-testid': `scale-${o.metadata.name}`,
        onclick: () =>
          page.act(async () => {
            await api('PATCH', pathOf(r, o.metadata.namespace, o.metadata.name, 'scale'), { spec: { replicas: Number(input.value) } }, 'application/merge-patch+json');
            typed.delete(id);
            flash(`${r.kind} ${o.metadata.name} scaled to ${input.value}`);
          }),
      }, 'Scale');
      return [input, go];
    };
    const restart = (r, o) =>
      h('button', {
        'data-testid': `restart-${o.metadata.name}`,
        onclick: () =>
          page.act(async () => {
            const patch = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } };
            await api('PATCH', pathOf(r, o.metadata.namespace, o.metadata.name), patch, 'application/strategic-merge-patch+json');
            flash(`${r.kind} ${o.metadata.name} restarted`);
          }),
      }, 'Restart');

    liveList(page, R.deployments, ns, (items) => {
      deploySection.replaceChildren(
        table(
          ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', ''],
          items.map((d) =>
            h(
              'tr',
              { 'data-testid': `deploy-${d.metadata.name}` },
              h('td', {}, d.metadata.name),
              h('td', { 'data-testid': `ready-${d.metadata.name}` }, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`),
              h('td', {}, d.status?.updatedReplicas ?? 0),
              h('td', {}, d.status?.availableReplicas ?? 0),
              h('td', {}, age(d.metadata.creationTimestamp)),
              h('td', { class: 'actions' }, scaler(R.deployments, d), restart(R.deployments, d), objLinks(R.deployments, d)),
            ),
          ),
        ),
      );
    });
    liveList(page, R.statefulsets, ns, (items) => {
      stsSection.replaceChildren(
        table(
          ['Name', 'Ready', 'Age', ''],
          items.map((s) => h('tr', {}, h('td', {}, s.metadata.name), h('td', {}, `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`), h('td', {}, age(s.metadata.creationTimestamp)), h('td', { class: 'actions' }, scaler(R.statefulsets, s), restart(R.statefulsets, s), objLinks(R.statefulsets, s)))),
        ),
      );
    });
    const [ds, jobs, cjs, rss] = await Promise.all([list(R.daemonsets, ns), list(R.jobs, ns), list(R.cronjobs, ns), list(R.replicasets, ns)]);
    otherSection.append(
      h('h3', {}, 'DaemonSets'),
      table(['Name', 'Desired', 'Ready', ''], ds.items.map((d) => h('tr', {}, h('td', {}, d.metadata.name), h('td', {}, d.status?.desiredNumberScheduled ?? 0), h('td', {}, d.status?.numberReady ?? 0), h('td', { class: 'actions' }, restart(R.daemonsets, d), objLinks(R.daemonsets, d))))),
      h('h3', {}, 'ReplicaSets'),
      table(['Name', 'Desired', 'Ready', 'Owner', ''], rss.items.map((d) => h('tr', {}, h('td', {}, d.metadata.name), h('td', {}, d.spec?.replicas ?? 0), h('td', {}, d.status?.readyReplicas ?? 0), h('td', {}, (d.metadata.ownerReferences ?? []).map((o) => `${o.kind}/${o.name}`).join(', ')), h('td', { class: 'actions' }, objLinks(R.replicasets, d))))),
      h('h3', {}, 'Jobs'),
      table(['Name', 'Completions', 'Active', 'Failed', ''], jobs.items.map((j) => h('tr', {}, h('td', {}, j.metadata.name), h('td', {}, `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`), h('td', {}, j.status?.active ?? 0), h('td', {}, j.status?.failed ?? 0), h('td', { class: 'actions' }, objLinks(R.jobs, j))))),
      h('h3', {}, 'CronJobs'),
      table(['Name', 'Schedule', 'Suspend', 'Last schedule', ''], cjs.items.map((c) => h('tr', {}, h('td', {}, c.metadata.name), h('td', {}, c.spec?.schedule), h('td', {}, String(!!c.spec?.suspend)), h('td', {}, c.status?.lastScheduleTime ?? ''), h('td', { class: 'actions' }, objLinks(R.cronjobs, c))))),
    );
  },

  async pods(page) {
    const ns = state.namespace;
    const body = h('div');
    page.main.append(h('h2', {}, `Pods in ${ns}`), h('p', { class: 'muted' }, 'Live: updated through a watch.'), body);
    liveList(page, R.pods, ns, (items) => {
      items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      body.replaceChildren(
        table(
          ['Name', 'Ready', 'Status', 'Restarts', 'Node', 'IP', 'Age', ''],
          items.map((p) => {
            const cs = p.status?.containerStatuses ?? [];
            const ready = cs.filter((c) => c.ready).length;
            const waiting = cs.map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason).find(Boolean);
            const status = p.metadata.deletionTimestamp ? 'Terminating' : waiting ?? p.status?.phase ?? 'Pending';
            const cls = status === 'Running' || status === 'Succeeded' ? 'ok' : /Err|BackOff|Failed/.test(status) ? 'bad' : 'warn';
            return h(
              'tr',
              { 'data-testid': `pod-${p.metadata.name}` },
              h('td', {}, p.metadata.name),
              h('td', {}, `${ready}/${(p.spec?.containers ?? []).length}`),
              h('td', { class: cls, 'data-testid': `pod-status-${p.metadata.name}` }, status),
              h('td', {}, cs.reduce((n, c) => n + (c.restartCount ?? 0), 0)),
              h('td', {}, p.spec?.nodeName ?? ''),
              h('td', {}, p.status?.podIP ?? ''),
              h('td', {}, age(p.metadata.creationTimestamp)),
              h(
                'td',
                { class: 'actions' },
                h('a', { href: `#/logs/${p.metadata.namespace}/${p.metadata.name}` }, 'Logs'),
                h('a', { href: `#/exec/${p.metadata.namespace}/${p.metadata.name}` }, 'Exec'),
                objLinks(R.pods, p),
                h('button', {
                  onclick: () =>
                    page.act(async () => {
                      if (!confirm(`Delete pod ${p.metadata.name}?`)) return;
                      await api('DELETE', pathOf(R.pods, p.metadata.namespace, p.metadata.name));
                      flash(`pod ${p.metadata.name} deleted`);
                    }),
                }, 'Delete'),
              ),
            );
          }),
        ),
      );
    });
  },

  async logs(page, [ns, name]) {
    const pod = await api('GET', pathOf(R.pods, ns, name));
    const containers = (pod.spec?.containers ?? []).map((c) => c.name);
    const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
    const container = q.get('container') ?? containers[0];
    const out = h('pre', { 'data-testid': 'log' });
    const select = h('select', { onchange: (e) => (location.hash = `#/logs/${ns}/${name}?container=${encodeURIComponent(e.target.value)}`) }, containers.map((c) => h('option', { value: c, selected: c === container }, c)));
    page.main.append(h('h2', {}, `Logs of ${ns}/${name}`), h('div', { class: 'toolbar' }, 'Container ', select, h('span', { class: 'muted' }, 'following')), out);
    const lq = new URLSearchParams({ follow: 'true', tailLines: '1000' });
    if (container) lq.set('container', container);
    streamLines(
      `${pathOf(R.pods, ns, name, 'log')}?${lq}`,
      (line) => {
        const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
        out.append(line + '\n');
        if (atEnd) out.scrollTop = out.scrollHeight;
      },
      page.signal,
    ).catch((err) => page.signal.aborted || page.error(err));
  },

  async exec(page, [ns, name]) {
    const { Terminal } = await import('/vendor/xterm.mjs');
    const pod = await api('GET', pathOf(R.pods, ns, name));
    const container = pod.spec?.containers?.[0]?.name;
    const box = h('div', { class: 'terminal' });
    page.main.append(h('h2', {}, `Shell in ${ns}/${name}`, container ? ` (${container})` : ''), box);
    const term = new Terminal({ convertEol: true, cursorBlink: true });
    term.open(box);
    const q = new URLSearchParams({ stdin: 'true', stdout: 'true', stderr: 'true', tty: 'true' });
    q.append('command', 'sh');
    if (container) q.set('container', container);
    // The Kubernetes channel protocol over WebSocket: the first byte of each message is the stream.
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}${pathOf(R.pods, ns, name, 'exec')}?${q}`, ['v4.channel.k8s.io']);
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    const send = (channel, bytes) => ws.readyState === 1 && ws.send(new Uint8Array([channel, ...bytes]));
    ws.onopen = () => {
      term.focus();
      send(4, enc.encode(JSON.stringify({ Width: term.cols, Height: term.rows })));
    };
    ws.onmessage = (ev) => {
      const data = new Uint8Array(ev.data);
      if (data[0] === 1 || data[0] === 2) term.write(data.subarray(1));
      else if (data[0] === 3) {
        const status = new TextDecoder().decode(data.subarray(1));
        if (status && !/"Success"/.test(status)) term.write(`\r\n${status}\r\n`);
      }
    };
    ws.onclose = () => term.write('\r\n[connection closed]\r\n');
    term.onData((d) => send(0, enc.encode(d)));
    term.onResize(({ cols, rows }) => send(4, enc.encode(JSON.stringify({ Width: cols, Height: rows }))));
    page.onLeave(() => {
      ws.close();
      term.dispose();
    });
  },

  async events(page) {
    const ns = state.namespace;
    const body = h('div');
    page.main.append(h('h2', {}, `Events in ${ns}`), body);
    liveList(page, R.events, ns, (items) => {
      const when = (e) => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      items.sort((a, b) => Date.parse(when(b)) - Date.parse(when(a)));
      body.replaceChildren(
        table(
          ['Last seen', 'Type', 'Reason', 'Object', 'Message', 'Count'],
          items.slice(0, 300).map((e) => h('tr', {}, h('td', {}, age(when(e))), h('td', { class: e.type === 'Warning' ? 'bad' : '' }, e.type), h('td', {}, e.reason), h('td', {}, `${e.involvedObject?.kind ?? ''}/${e.involvedObject?.name ?? ''}`), h('td', {}, e.message ?? ''), h('td', {}, e.count ?? 1))),
        ),
      );
    });
  },

  async network(page) {
    const ns = state.namespace;
    const [svcs, slices, ings] = await Promise.all([list(R.services, ns), list(R.endpointslices, ns), list(R.ingresses, ns)]);
    const endpointsOf = (svc) => {
      const out = [];
      for (const s of slices.items.filter((x) => x.metadata.labels?.['kubernetes.io/service-name'] === svc)) {
        const ports = (s.ports ?? []).map((p) => p.port);
        for (const e of s.endpoints ?? []) for (const a of e.addresses ?? []) out.push(`${a}${ports.length ? `:${ports.join(',')}` : ''}${e.conditions?.ready === false ? ' (not ready)' : ''}`);
      }
      return out;
    };
    page.main.append(
      h('h2', {}, `Services and Ingresses in ${ns}`),
      h('h3', {}, 'Services'),
      table(
        ['Name', 'Type', 'Cluster IP', 'Ports', 'Endpoints', ''],
        svcs.items.map((s) => h('tr', {}, h('td', {}, s.metadata.name), h('td', {}, s.spec?.type), h('td', {}, s.spec?.clusterIP ?? ''), h('td', {}, (s.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(', ')), h('td', {}, endpointsOf(s.metadata.name).join(', ') || h('span', { class: 'muted' }, 'none')), h('td', { class: 'actions' }, objLinks(R.services, s)))),
      ),
      h('h3', {}, 'Ingresses'),
      table(
        ['Name', 'Class', 'Rules', 'Address', ''],
        ings.items.map((i) =>
          h(
            'tr',
            {},
            h('td', {}, i.metadata.name),
            h('td', {}, i.spec?.ingressClassName ?? ''),
            h('td', {}, (i.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => `${r.host ?? '*'}${p.path ?? '/'} → ${p.backend?.service?.name}:${p.backend?.service?.port?.number ?? p.backend?.service?.port?.name} [${endpointsOf(p.backend?.service?.name).join(', ') || 'no endpoints'}]`)).join('; ')),
            h('td', {}, (i.status?.loadBalancer?.ingress ?? []).map((x) => x.ip ?? x.hostname).join(', ')),
            h('td', { class: 'actions' }, objLinks(R.ingresses, i)),
          ),
        ),
      ),
    );
  },

  async storage(page) {
    const ns = state.namespace;
    const [pvcs, pvs, scs] = await Promise.all([list(R.persistentvolumeclaims, ns), list(R.persistentvolumes), list(R.storageclasses)]);
    page.main.append(
      h('h2', {}, 'Storage'),
      h('h3', {}, `PersistentVolumeClaims in ${ns}`),
      table(['Name', 'Status', 'Volume', 'Capacity', 'Class', ''], pvcs.items.map((c) => h('tr', {}, h('td', {}, c.metadata.name), h('td', {}, c.status?.phase ?? ''), h('td', {}, c.spec?.volumeName ?? ''), h('td', {}, c.status?.capacity?.storage ?? ''), h('td', {}, c.spec?.storageClassName ?? ''), h('td', { class: 'actions' }, objLinks(R.persistentvolumeclaims, c))))),
      h('h3', {}, 'PersistentVolumes'),
      table(['Name', 'Capacity', 'Status', 'Claim', 'Class', ''], pvs.items.map((v) => h('tr', {}, h('td', {}, v.metadata.name), h('td', {}, v.spec?.capacity?.storage ?? ''), h('td', {}, v.status?.phase ?? ''), h('td', {}, v.spec?.claimRef ? `${v.spec.claimRef.namespace}/${v.spec.claimRef.name}` : ''), h('td', {}, v.spec?.storageClassName ?? ''), h('td', { class: 'actions' }, objLinks(R.persistentvolumes, v))))),
      h('h3', {}, 'StorageClasses'),
      table(['Name', 'Provisioner', 'Default', ''], scs.items.map((s) => h('tr', {}, h('td', {}, s.metadata.name), h('td', {}, s.provisioner), h('td', {}, s.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true' ? 'yes' : ''), h('td', { class: 'actions' }, objLinks(R.storageclasses, s))))),
    );
  },

  async yaml(page, params) {
    const { r, ns, name } = routeObject(params);
    const path = pathOf(r, ns, name);
    const obj = await api('GET', path);
    const area = h('textarea', { class: 'yaml', spellcheck: 'false', 'data-testid': 'yaml-editor' });
    area.value = toYaml(obj);
    const err = h('div', { 'data-testid': 'yaml-error' });
    const save = h('button', {
      class: 'primary',
      'data-testid': 'yaml-save',
      onclick: async () => {
        err.replaceChildren();
        try {
          // Strict: unknown or duplicate fields are errors, reported by the server.
          const saved = await api('PUT', `${path}?fieldValidation=Strict`, area.value, 'application/yaml');
          area.value = toYaml(saved);
          flash(`${r.kind} ${name} saved (resourceVersion ${saved.metadata.resourceVersion})`);
        } catch (e) {
          err.replaceChildren(h('div', { class: 'error' }, e.message));
        }
      },
    }, 'Save');
    page.main.append(
      h('h2', {}, `${r.kind} ${ns ? `${ns}/` : ''}${name}`),
      h('div', { class: 'toolbar' }, save, h('button', { onclick: () => page.reload() }, 'Reload'), h('a', { href: `#/history/${params.join('/')}` }, 'History')),
      err,
      area,
    );
    // A local syntax check only as a hint; the server's answer on Save has the last word.
    const hint = h('div', { class: 'muted' });
    err.after(hint);
    area.addEventListener('input', () => {
      try {
        parseYaml(area.value);
        hint.textContent = '';
      } catch (e) {
        hint.textContent = `YAML syntax: ${e.message.split('\n')[0]}`;
      }
    });
  },

  async history(page, params) {
    if (params.length < 5) return historyLookup(page);
    const { r, ns, name } = routeObject(params);
    const out = await api('GET', pathOf(r, ns, name, 'history'));
    page.main.append(h('h2', {}, `History of ${r.kind} ${ns ? `${ns}/` : ''}${name}`), h('p', { class: 'muted' }, `${out.entries.length} changes recorded. `, ...(out.gaps ?? []).map((g) => `Revisions ${g.fromRevision}-${g.toRevision} not recorded (the recorder was behind or down). `), h('a', { href: `#/yaml/${params.join('/')}` }, 'YAML')));
    let st;
    const cards = [];
    for (const e of out.entries) {
      const changes = e.type === 'update' ? describePatch(st, e.patch) : [];
      st = applyPatch(st, e.patch);
      const lines =
        e.type === 'create'
          ? [h('span', { class: 'add' }, 'created')]
          : e.type === 'delete'
            ? [h('span', { class: 'rem' }, 'deleted')]
            : changes.length === 0
              ? [h('span', { class: 'muted' }, '(metadata only)')]
              : changes.map((c) =>
                  c.kind === 'added'
                    ? h('div', { class: 'add' }, `+ ${c.path}: ${short(c.value)}`)
                    : c.kind === 'removed'
                      ? h('div', { class: 'rem' }, `- ${c.path}${c.old !== undefined ? `: ${short(c.old)}` : ''}`)
                      : h('div', { class: 'chg' }, `~ ${c.path}: ${c.old !== undefined ? `${short(c.old)} → ` : ''}${short(c.value)}`),
                );
      const snapshot = st === undefined ? undefined : toYaml(st);
      const details = snapshot ? h('details', {}, h('summary', {}, 'object after this change'), h('pre', {}, snapshot)) : '';
      cards.push(
        h(
          'div',
          { class: 'entry', 'data-testid': 'history-entry' },
          h('div', { class: 'head' }, h('span', { class: 'op' }, e.type), h('span', {}, new Date(e.time).toLocaleString()), h('span', {}, `rev ${e.revision}`), h('span', {}, `user: ${e.user ?? '-'}`), h('span', {}, `manager: ${e.manager ?? '-'}`)),
          h('pre', { class: 'diff' }, lines),
          details,
        ),
      );
    }
    // Newest first.
    page.main.append(...cards.reverse());
  },
};

function short(v) {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** `#/history` without an object: ask for one (it may have been deleted). */
function historyLookup(page) {
  const kind = h('select', { 'data-testid': 'history-kind' }, Object.keys(R).map((k) => h('option', { value: k }, k)));
  const name = h('input', { placeholder: 'name', 'data-testid': 'history-name' });
  const go = () => {
    const r = R[kind.value];
    location.hash = `#/history/${r.group || 'core'}/${r.version}/${r.plural}/${r.namespaced ? state.namespace : '-'}/${encodeURIComponent(name.value)}`;
  };
  page.main.append(h('h2', {}, 'Object history'), h('p', { class: 'muted' }, 'Every change of every object, also of deleted ones.'), h('div', { class: 'toolbar' }, kind, name, h('button', { class: 'primary', onclick: go }, 'Show')));
}

function routeObject([group, version, plural, ns, name]) {
  const known = Object.values(R).find((x) => x.plural === plural && (x.group || 'core') === group);
  const r = known ?? { group: group === 'core' ? '' : group, version, plural, namespaced: ns !== '-', kind: plural };
  return { r: { ...r, version }, ns: ns === '-' ? undefined : ns, name: decodeURIComponent(name) };
}

// ---- router ---------------------------------------------------------------------------------

let current;

async function route() {
  current?.leave();
  const main = document.getElementById('main');
  main.replaceChildren();
  const [name, ...params] = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean);
  const pageName = pages[name] ? name : 'overview';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${pageName}`);
  const ctl = new AbortController();
  const leaveHooks = [];
  const page = {
    main,
    signal: ctl.signal,
    error: (err) => main.prepend(h('div', { class: 'error' }, err.message)),
    act: async (fn) => {
      try {
        await fn();
      } catch (err) {
        page.error(err);
      }
    },
    onLeave: (fn) => leaveHooks.push(fn),
    reload: () => route(),
    leave: () => {
      ctl.abort();
      for (const fn of leaveHooks) fn();
    },
  };
  current = page;
  try {
    await pages[pageName](page, params);
  } catch (err) {
    if (current === page) page.error(err);
  }
}

async function init() {
  const cfg = await fetch('/config').then((r) => r.json());
  state.namespace = localStorage.getItem('kite-namespace') ?? cfg.namespace ?? 'default';
  document.getElementById('cluster').textContent = cfg.cluster ? `cluster ${cfg.cluster}` : '';
  const select = document.getElementById('ns');
  const fill = (names) => {
    if (!names.includes(state.namespace)) names.push(state.namespace);
    select.replaceChildren(...names.sort().map((n) => h('option', { value: n, selected: n === state.namespace }, n)));
  };
  fill([state.namespace]);
  list(R.namespaces)
    .then((l) => fill(l.items.map((n) => n.metadata.name)))
    .catch(() => {});
  select.addEventListener('change', () => {
    state.namespace = select.value;
    localStorage.setItem('kite-namespace', state.namespace);
    route();
  });
  window.addEventListener('hashchange', route);
  route();
}

init();
