// Unit tests of the private containerd's generated configuration and the CNI
// network list (no root needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  containerdConfig,
  defaultSocketPath,
  detectCgroupDriver,
  DISABLED_PLUGINS,
  runtimeLayout,
  splitIptablesRule,
  missingRuntimePackages,
  mountsUnder,
} from '../../kubelet/runtime/containerd.js';
import {
  buildCniConflist,
  cniConfDir,
  detectCniVersion,
  parseCidr,
  readCniConfig,
  writeCniConfig,
  CNI_BIN_DIR,
} from '../../kubelet/runtime/cni.js';

test('layout: everything under the state dir; socket falls back when the path is too long', () => {
  const l = runtimeLayout('/var/lib/kite/node-a');
  assert.equal(l.socket, '/var/lib/kite/node-a/containerd.sock');
  for (const p of [l.root, l.state, l.runcRoot, l.optDir, l.registryConfigDir, l.cniConfDir, l.cniDataDir, l.netnsDir, l.configPath]) {
    assert.ok(p.startsWith('/var/lib/kite/node-a/'), p);
  }
  const long = '/tmp/' + 'x'.repeat(120);
  const s = defaultSocketPath(long);
  assert.match(s, /^\/run\/kite\/[0-9a-f]{16}\/containerd\.sock$/);
  assert.equal(defaultSocketPath(long), s, 'stable per state dir');
  assert.notEqual(defaultSocketPath(long + 'y'), s);
  assert.equal(runtimeLayout('/x', '/tmp/custom.sock').socket, '/tmp/custom.sock');
});

test('containerd config.toml: version 2, private paths, CRI settings', () => {
  const layout = runtimeLayout('/srv/kite/n1');
  const toml = containerdConfig({ layout, systemdCgroup: false, restrictOomScoreAdj: true });
  const has = (re: RegExp) => assert.match(toml, re);
  has(/^version = 2$/m);
  has(/^root = "\/srv\/kite\/n1\/root"$/m);
  has(/^state = "\/srv\/kite\/n1\/state"$/m);
  has(/\[grpc\]\n\s+address = "\/srv\/kite\/n1\/containerd.sock"/);
  has(/\[ttrpc\]\n\s+address = "\/srv\/kite\/n1\/containerd.sock.ttrpc"/);
  has(/sandbox_image = "kite.local\/pause:3.10"/);
  has(/snapshotter = "overlayfs"/);
  has(/runtime_type = "io.containerd.runc.v2"/);
  has(/SystemdCgroup = false/);
  has(/Root = "\/srv\/kite\/n1\/runc"/);
  has(/bin_dir = "\/usr\/lib\/cni"/);
  has(/conf_dir = "\/srv\/kite\/n1\/cni\/net.d"/);
  has(/config_path = "\/srv\/kite\/n1\/certs.d"/);
  has(/netns_mounts_under_state_dir = true/);
  has(/restrict_oom_score_adj = true/);
  has(/path = "\/srv\/kite\/n1\/opt"/);
  has(/required_plugins = \["io.containerd.grpc.v1.cri"\]/);
  assert.ok(!toml.includes('/run/containerd'), 'no system containerd paths');
  assert.ok(!toml.includes('/var/lib/containerd'), 'no system containerd paths');
  assert.ok(!DISABLED_PLUGINS.includes('io.containerd.runtime.v1.linux'), 'v1 runtime stays (CRI needs the tasks service)');
  assert.match(containerdConfig({ layout, systemdCgroup: true }), /SystemdCgroup = true/);
  assert.match(containerdConfig({ layout, sandboxImage: 'x.test/p:1' }), /sandbox_image = "x.test\/p:1"/);
  assert.ok(['systemd', 'cgroupfs'].includes(detectCgroupDriver()));
});

test('containerd accepts the generated config', { skip: existsSync('/usr/bin/containerd') ? false : 'containerd not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-cfg-'));
  try {
    const layout = runtimeLayout(dir);
    writeFileSync(layout.configPath, containerdConfig({ layout, systemdCgroup: false }));
    const dump = execFileSync('containerd', ['--config', layout.configPath, 'config', 'dump'], { encoding: 'utf8' });
    assert.match(dump, new RegExp(`root = "${dir}/root"`));
    assert.match(dump, /sandbox_image = "kite.local\/pause:3.10"/);
    assert.match(dump, /netns_mounts_under_state_dir = true/);
    assert.match(dump, new RegExp(`conf_dir = "${dir}/cni/net.d"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CNI: conflist for the pod CIDR', () => {
  const conf = buildCniConflist({ podCIDR: '10.244.0.0/24', dataDir: '/s/cni/networks' }) as any;
  assert.equal(conf.cniVersion, '1.0.0');
  assert.equal(conf.name, 'kite');
  assert.deepEqual(conf.plugins.map((p: any) => p.type), ['bridge', 'portmap', 'loopback']);
  const br = conf.plugins[0];
  assert.equal(br.bridge, 'kite0');
  assert.equal(br.isGateway, true);
  assert.equal(br.ipMasq, true);
  assert.equal(br.hairpinMode, true);
  assert.equal(br.ipam.type, 'host-local');
  assert.deepEqual(br.ipam.ranges, [[{ subnet: '10.244.0.0/24' }]]);
  assert.deepEqual(br.ipam.routes, [{ dst: '0.0.0.0/0' }]);
  assert.equal(br.ipam.dataDir, '/s/cni/networks');
  assert.deepEqual(conf.plugins[1].capabilities, { portMappings: true });
  const custom = buildCniConflist({ podCIDR: '10.1.2.0/26', bridge: 'br-x', name: 'n', cniVersion: '0.4.0', mtu: 1400 }) as any;
  assert.equal(custom.cniVersion, '0.4.0');
  assert.equal(custom.plugins[0].bridge, 'br-x');
  assert.equal(custom.plugins[0].mtu, 1400);
  assert.throws(() => buildCniConflist({ podCIDR: '10.1.2.0/24', bridge: 'much-too-long-name' }), /15 characters/);
});

test('CNI: CIDR validation', () => {
  assert.deepEqual(parseCidr('10.244.3.0/24'), { family: 4, address: '10.244.3.0', prefix: 24 });
  assert.equal(parseCidr('fd00::/64').family, 6);
  assert.throws(() => parseCidr('10.244.3.1/24'), /host bits/);
  assert.throws(() => parseCidr('10.244.3.0/31'), /too small/);
  assert.throws(() => parseCidr('300.1.1.0/24'), /invalid/);
  assert.throws(() => parseCidr('nonsense'), /invalid/);
});

test('CNI: write and read back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-cni-'));
  try {
    const confDir = cniConfDir(dir);
    const path = writeCniConfig({ confDir, podCIDR: '10.244.7.0/24', bridge: 'kt7', name: 'kite-7' });
    assert.equal(path, join(confDir, '10-kite-7.conflist'));
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).name, 'kite-7');
    assert.deepEqual(readCniConfig(confDir), { name: 'kite-7', bridge: 'kt7', path });
    assert.equal(readCniConfig(join(dir, 'missing')), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CNI: installed plugins speak the version we write', { skip: existsSync(join(CNI_BIN_DIR, 'bridge')) ? false : 'CNI plugins not installed' }, async () => {
  assert.equal(await detectCniVersion(), '1.0.0');
});

test('iptables-save rule splitting keeps quoted comments', () => {
  const line = '-A POSTROUTING -s 10.244.0.5/32 -m comment --comment "name: \\"kite\\" id: \\"abc\\"" -j CNI-0123456789abcdef01234567';
  assert.deepEqual(splitIptablesRule(line), [
    '-A',
    'POSTROUTING',
    '-s',
    '10.244.0.5/32',
    '-m',
    'comment',
    '--comment',
    'name: "kite" id: "abc"',
    '-j',
    'CNI-0123456789abcdef01234567',
  ]);
});

test('misc host helpers do not throw', () => {
  assert.ok(Array.isArray(missingRuntimePackages()));
  assert.deepEqual(mountsUnder('/nonexistent/kite/dir'), []);
});
