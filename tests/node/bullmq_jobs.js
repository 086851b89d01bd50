// tests/node/bullmq_jobs.js — BullMQ against a Parley node, run by
// tests/integration/test_bullmq.py. A Queue adds N jobs, one delayed job
// and one job that fails on its first attempt (retried once); a Worker on
// the same node or another one (WORKER_PORT) processes them. Prints one
// JSON line: what each job returned, how often each ran, and the counts
// BullMQ reports; exits 0 when every job completed, 1 otherwise, 2 past
// the deadline (DEADLINE_MS). With PROGRESS=1 it also prints a line
// {"progress": k} at each completion (the test kills a node meanwhile),
// and JOB_MS makes each job take that long.
'use strict';
const { Queue, Worker, QueueEvents } = require('bullmq');

const port = Number(process.env.QUEUE_PORT);
const workerPort = Number(process.env.WORKER_PORT || port);
const n = Number(process.env.JOBS || 20);
const deadlineMs = Number(process.env.DEADLINE_MS || 40000);
const name = process.env.QUEUE_NAME || 'parley-test';
const progress = process.env.PROGRESS === '1';
const jobMs = Number(process.env.JOB_MS || 0);

function connection(p) {
  return { host: '127.0.0.1', port: p, maxRetriesPerRequest: null };
}

async function main() {
  const queue = new Queue(name, { connection: connection(port) });
  const runs = {};
  const results = {};
  const failures = [];
  let done = 0;
  const total = n + 2;
  let finish;
  const allDone = new Promise((resolve) => { finish = resolve; });

  const worker = new Worker(name, async (job) => {
    runs[job.name] = (runs[job.name] || 0) + 1;
    if (jobMs) await new Promise((resolve) => setTimeout(resolve, jobMs));
    if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('first attempt fails');
    return { doubled: job.data.x * 2, name: job.name };
  }, { connection: connection(workerPort), concurrency: 4 });

  worker.on('completed', (job, value) => {
    results[job.name] = value;
    done += 1;
    if (progress) console.log(JSON.stringify({ progress: done }));
    if (done === total) finish();
  });
  worker.on('failed', (job, err) => { failures.push(`${job && job.name}: ${err.message}`); });
  worker.on('error', (err) => { failures.push(`worker error: ${err.message}`); });

  await worker.waitUntilReady();
  const jobs = [];
  for (let i = 0; i < n; i++) jobs.push({ name: `job-${i}`, data: { x: i } });
  await queue.addBulk(jobs);
  await queue.add('delayed', { x: 100 }, { delay: 300 });
  await queue.add('flaky', { x: 7 }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });

  const timer = setTimeout(() => {
    console.log(JSON.stringify({ timeout: true, done, runs, failures }));
    process.exit(2);
  }, deadlineMs);
  await allDone;
  clearTimeout(timer);
  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active');
  await worker.close();
  await queue.close();
  console.log(JSON.stringify({ done, runs, results, counts, failures }));
  process.exit(done === total ? 0 : 1);
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String(err && err.stack || err) }));
  process.exit(1);
});
