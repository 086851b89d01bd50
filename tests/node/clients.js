// tests/node/clients.js — the basics of Node's two Redis clients, ioredis
// and node-redis, against one server (PORT): pipelines, transactions
// (MULTI/EXEC and WATCH), pub/sub, Lua scripts and streams with a consumer
// group. Prints one JSON line of everything each client saw;
// tests/integration/test_node_clients.py runs it against Parley and
// against redis-server and compares the two.
'use strict';
const IORedis = require('ioredis');
const { createClient } = require('redis');

const port = Number(process.env.PORT);
const prefix = process.env.PREFIX || 't';

async function withIORedis() {
  const r = new IORedis({ host: '127.0.0.1', port, maxRetriesPerRequest: 3 });
  const sub = new IORedis({ host: '127.0.0.1', port });
  const out = {};
  const k = (s) => `${prefix}:io:${s}`;
  out.pipeline = await r.pipeline().set(k('a'), '1').incr(k('a')).get(k('a')).lpush(k('l'), 'x', 'y')
    .lrange(k('l'), 0, -1).exec();
  out.multi = await r.multi().set(k('b'), 'v').append(k('b'), 'w').get(k('b')).exec();
  await r.set(k('w'), '1');
  await r.watch(k('w'));
  await r.set(k('w'), '2'); // the watched key changes: EXEC must fail
  out.watchFailed = await r.multi().set(k('w'), '3').exec();
  out.afterWatch = await r.get(k('w'));
  r.defineCommand('incrTwice', { numberOfKeys: 1, lua: "redis.call('incr', KEYS[1]); return redis.call('incr', KEYS[1])" });
  out.lua = [await r.incrTwice(k('n')), await r.eval("return {KEYS[1], ARGV[1], 3}", 1, k('z'), 'arg'),
    await r.eval("return cjson.encode({a=1})", 0)];
  const got = [];
  await sub.subscribe(k('chan'));
  const received = new Promise((resolve) => {
    sub.on('message', (ch, msg) => { got.push([ch, msg]); if (got.length === 2) resolve(); });
  });
  out.published = [await r.publish(k('chan'), 'one'), await r.publish(k('chan'), 'two')];
  await received;
  out.messages = got;
  await r.xgroup('CREATE', k('s'), 'g', '$', 'MKSTREAM');
  const ids = [await r.xadd(k('s'), '1-1', 'f', 'v1'), await r.xadd(k('s'), '1-2', 'f', 'v2')];
  out.stream = {
    ids,
    read: await r.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', k('s'), '>'),
    ack: await r.xack(k('s'), 'g', '1-1'),
    pending: await r.xpending(k('s'), 'g'),
  };
  sub.disconnect();
  r.disconnect();
  return out;
}

async function withNodeRedis() {
  const r = createClient({ socket: { host: '127.0.0.1', port } });
  const sub = r.duplicate();
  await r.connect();
  await sub.connect();
  const out = {};
  const k = (s) => `${prefix}:nr:${s}`;
  out.multi = await r.multi().set(k('a'), '1').incr(k('a')).get(k('a')).exec();
  out.pipeline = await r.multi().lPush(k('l'), ['x', 'y']).lRange(k('l'), 0, -1).execAsPipeline();
  out.hash = [await r.hSet(k('h'), { f1: 'v1', f2: 'v2' }), await r.hGetAll(k('h'))];
  out.zset = [await r.zAdd(k('z'), [{ score: 2, value: 'b' }, { score: 1, value: 'a' }]),
    await r.zRangeWithScores(k('z'), 0, -1)];
  out.lua = await r.eval("return redis.call('get', KEYS[1])", { keys: [k('a')] });
  const got = [];
  const received = new Promise((resolve) => {
    sub.subscribe(k('chan'), (msg, ch) => { got.push([ch, msg]); if (got.length === 2) resolve(); });
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  out.published = [await r.publish(k('chan'), 'one'), await r.publish(k('chan'), 'two')];
  await received;
  out.messages = got;
  out.stream = [await r.xAdd(k('s'), '1-1', { f: 'v' }), await r.xRange(k('s'), '-', '+'), await r.xLen(k('s'))];
  await sub.quit();
  await r.quit();
  return out;
}

(async () => {
  const timer = setTimeout(() => { console.log(JSON.stringify({ timeout: true })); process.exit(2); }, 30000);
  const result = { ioredis: await withIORedis(), noderedis: await withNodeRedis() };
  clearTimeout(timer);
  console.log(JSON.stringify(result));
  process.exit(0);
})().catch((err) => {
  console.log(JSON.stringify({ error: String(err && err.stack || err) }));
  process.exit(1);
});
