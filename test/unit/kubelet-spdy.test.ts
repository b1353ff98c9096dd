// SPDY/3.1 framing and sessions (kubelet/server/spdy.ts): the header dictionary,
// header compression against real zlib, and a client and a server session talking
// over a socket pair (streams, data, FINs, resets, pings, the stream relay).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import * as zlib from 'node:zlib';
import {
  FrameParser,
  HeaderCompressor,
  HeaderDecompressor,
  SPDY_DICTIONARY,
  SpdyConnection,
  encodeDataFrame,
  encodeHeaderBlock,
  encodePing,
  encodeSynStream,
  type SpdyHeaders,
  type SpdyStream,
} from '../../kubelet/server/spdy.js';
import { relaySpdy } from '../../kubelet/server/streaming.js';

test('the SPDY/3 header dictionary is byte-exact (1423 bytes, known digest)', () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(createHash('sha256').update(SPDY_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
});

test('our header blocks inflate with zlib and the dictionary, block after block', () => {
  const c = new HeaderCompressor();
  const inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  const blocks: SpdyHeaders[] = [{ streamtype: 'error' }, { streamtype: 'data', port: '8080', requestid: '0' }, { a: ['x', 'y'] }];
  const compressed = Buffer.concat(blocks.map((b) => c.compress(b)));
  const out = zlib.inflateSync(compressed, { dictionary: SPDY_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const expected = Buffer.concat(blocks.map((b) => encodeHeaderBlock(b)));
  assert.ok(out.equals(expected));
  inflate.close();
});

test('header blocks deflated by zlib (as Go sends them) decompress in order', async () => {
  const d = new HeaderDecompressor();
  const def = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
  const chunks: Buffer[] = [];
  def.on('data', (c: Buffer) => chunks.push(c));
  for (let i = 0; i < 5; i++) {
    def.write(encodeHeaderBlock({ streamtype: 'stdout', n: String(i) }));
    await new Promise<void>((r) => def.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    await new Promise((r) => setImmediate(r));
    const block = Buffer.concat(chunks.splice(0));
    assert.deepEqual(await d.decompress(block), { streamtype: 'stdout', n: String(i) });
  }
  d.close();
  def.close();
});

test('the frame parser splits frames across arbitrary chunk boundaries', () => {
  const frames = Buffer.concat([encodeSynStream(1, Buffer.from('abc'), 0), encodeDataFrame(1, Buffer.from('hello'), true), encodePing(7)]);
  const p = new FrameParser();
  const got = [];
  for (let i = 0; i < frames.length; i += 3) got.push(...p.push(frames.subarray(i, i + 3)));
  assert.deepEqual(
    got.map((f) => f.type),
    ['syn_stream', 'data', 'ping'],
  );
  const data = got[1] as { data: Buffer; flags: number; streamId: number };
  assert.equal(data.data.toString(), 'hello');
  assert.equal(data.flags, 1);
  assert.equal(data.streamId, 1);
});

async function socketPair(): Promise<{ a: Socket; b: Socket; close(): void }> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const a = connect(port, '127.0.0.1');
  const b = await accepted;
  await new Promise<void>((r) => (a.readyState === 'open' ? r() : a.once('connect', () => r())));
  return { a, b, close: () => srv.close() };
}

function collect(s: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
  });
}

test('client and server sessions: streams with headers, data both ways, FIN, ping', async () => {
  const { a, b, close } = await socketPair();
  const server = new SpdyConnection(b, { server: true });
  const client = new SpdyConnection(a, { server: false });
  server.on('stream', (s: SpdyStream) => {
    // echo upper-cased, then FIN
    s.on('data', (d: Buffer) => s.write(Buffer.from(d.toString().toUpperCase())));
    s.on('end', () => s.end());
  });
  const streams = [0, 1, 2].map((i) => client.createStream({ streamtype: 'data', requestid: String(i) }));
  assert.deepEqual(
    streams.map((s) => s.id),
    [1, 3, 5],
  );
  const results = streams.map(collect);
  streams.forEach((s, i) => {
    s.write(`hello ${i} `);
    s.end('bye');
  });
  assert.deepEqual(await Promise.all(results), ['HELLO 0 BYE', 'HELLO 1 BYE', 'HELLO 2 BYE']);
  assert.ok((await client.ping()) >= 0);
  assert.ok((await server.ping()) >= 0);
  client.close();
  await new Promise((r) => server.once('close', r));
  close();
});

test('a reset reaches the other side; headers of incoming streams are readable', async () => {
  const { a, b, close } = await socketPair();
  const server = new SpdyConnection(b, { server: true });
  const client = new SpdyConnection(a, { server: false });
  const seen = new Promise<SpdyStream>((r) => server.once('stream', r));
  const s = client.createStream({ streamtype: 'error', port: '80' });
  const incoming = await seen;
  assert.equal(incoming.header('streamtype'), 'error');
  assert.equal(incoming.header('port'), '80');
  const reset = new Promise((r) => incoming.once('reset', r));
  incoming.on('error', () => {});
  await s.waitReply();
  s.reset();
  await reset;
  client.destroy();
  server.destroy();
  close();
});

test('relaySpdy copies streams, data and FINs between a caller and a backend', async () => {
  const front = await socketPair();
  const back = await socketPair();
  // caller (client) -> [front server | relay | back client] -> backend (server)
  const caller = new SpdyConnection(front.a, { server: false });
  const relayFront = new SpdyConnection(front.b, { server: true });
  const relayBack = new SpdyConnection(back.a, { server: false });
  const backend = new SpdyConnection(back.b, { server: true });
  const headersSeen: string[] = [];
  backend.on('stream', (s: SpdyStream) => {
    headersSeen.push(`${s.header('streamtype')}/${s.header('requestid')}`);
    let got = '';
    s.on('data', (d: Buffer) => (got += d));
    s.on('end', () => s.end(`backend saw: ${got}`));
  });
  const done = relaySpdy(relayFront, relayBack);
  const st = caller.createStream({ streamtype: 'data', requestid: '42' });
  const answer = collect(st);
  st.end('ping through relay');
  assert.equal(await answer, 'backend saw: ping through relay');
  assert.deepEqual(headersSeen, ['data/42']);
  caller.close();
  await done;
  backend.destroy();
  front.close();
  back.close();
});
