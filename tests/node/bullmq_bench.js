// tests/node/bullmq_bench.js — BullMQ throughput for bench/bullmq.py: a
// Queue adds JOBS jobs in bulk and a Worker (CONCURRENCY) runs them (each
// returns at once); prints one JSON line with the seconds from the first
// add to the last completion. Exits 2 past DEADLINE_MS.
'use strict';
const { Queue, Worker } = require('bullmq');

const port = Number(process.env.PORT);
const n = Number(process.env.JOBS || 10000);
const concurrency = Number(process.env.CONCURRENCY || 8);
const deadlineMs = Number(process.env.DEADLINE_MS || 120000);
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };

(async () => {
  const name = `bench-${process.pid}`;
  const queue = new Queue(name, { connection });
  let done = 0;
  let finish;
  const allDone = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => { console.log(JSON.stringify({ timeout: true, done })); process.exit(2); }, deadlineMs);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) jobs.push({ name: 'j', data: { j } });
    await queue.addBulk(jobs);
  }
  const added = Number(process.hrtime.bigint() - t0) / 1e9;
  const worker = new Worker(name, async (job) => job.data.j, { connection, concurrency });
  worker.on('completed', () => { done += 1; if (done === n) finish(); });
  await allDone;
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  clearTimeout(timer);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  console.log(JSON.stringify({ jobs: n, added_s: added, total_s: total }));
  process.exit(0);
})().catch((err) => { console.log(JSON.stringify({ error: String(err && err.stack || err) })); process.exit(1); });
