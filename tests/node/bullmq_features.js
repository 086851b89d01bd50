// tests/node/bullmq_features.js — BullMQ's higher-level features against a
// Parley node, run by tests/integration/test_bullmq.py (bullmq_jobs.js owns
// plain jobs, retries and delays). SCENARIO picks one:
//   repeat  — a job scheduler {every: 200, limit: 3} yields exactly 3 runs;
//   flow    — a FlowProducer parent with 3 children; the parent's processor
//             reads the children's results with job.getChildrenValues();
//   flow-nested — a two-level flow over two queues, and a child failing
//             with failParentOnFailure;
//   limiter — a Worker with limiter {max: 5, duration: 1000} runs 12 jobs;
//             reports each job's processedOn / finishedOn;
//   events  — QueueEvents hears `completed` (returnvalue) and `failed`
//             (failedReason), and `progress`, for jobs added by a Queue, and
//             job.waitUntilFinished(queueEvents) settles with them.
// QUEUE_PORT is where the Queue / FlowProducer connect, WORKER_PORT where
// the Worker and QueueEvents do. Prints one JSON line; exits 0 when the
// scenario finished, 1 on an error, 2 past DEADLINE_MS.
'use strict';
const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');

const port = Number(process.env.QUEUE_PORT);
const workerPort = Number(process.env.WORKER_PORT || port);
const deadlineMs = Number(process.env.DEADLINE_MS || 20000);
const name = process.env.QUEUE_NAME || 'parley-features';
const scenario = process.env.SCENARIO;

function connection(p) {
  return { host: '127.0.0.1', port: p, maxRetriesPerRequest: null };
}

// A promise with its resolve function, resolved when `n` calls of tick()
// have happened.
function countdown(n) {
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  let left = n;
  return { done, tick() { left -= 1; if (left === 0) resolve(); } };
}

const closers = [];
const errors = [];
function track(obj) {
  closers.push(obj);
  obj.on('error', (err) => errors.push(`${obj.constructor.name} error: ${err.message}`));
  return obj;
}

async function repeat() {
  const queue = track(new Queue(name, { connection: connection(port) }));
  const runs = [];
  const finished = countdown(3);
  const worker = track(new Worker(name, async (job) => {
    runs.push(job.name);
    return { run: runs.length };
  }, { connection: connection(workerPort) }));
  worker.on('completed', () => finished.tick());
  await worker.waitUntilReady();
  await queue.upsertJobScheduler('tick-every-200', { every: 200, limit: 3 },
    { name: 'tick', data: { x: 1 } });
  await finished.done;
  // Once the third run completed, the scheduler must not have queued a
  // fourth: nothing waits, nothing is delayed.
  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active');
  const completed = await queue.getJobs(['completed']);
  return {
    runs, counts,
    returned: completed.map((j) => j.returnvalue.run).sort(),
  };
}

async function flow() {
  const flows = track(new FlowProducer({ connection: connection(port) }));
  const queue = track(new Queue(name, { connection: connection(port) }));
  const parentDone = countdown(1);
  let parentSaw = null;
  const worker = track(new Worker(name, async (job) => {
    if (job.name === 'parent') {
      parentSaw = await job.getChildrenValues();
      return { sum: Object.values(parentSaw).reduce((s, v) => s + v.square, 0) };
    }
    return { square: job.data.x * job.data.x };
  }, { connection: connection(workerPort), concurrency: 3 }));
  let parentResult = null;
  worker.on('completed', (job, value) => {
    if (job.name === 'parent') { parentResult = value; parentDone.tick(); }
  });
  await worker.waitUntilReady();
  const tree = await flows.add({
    name: 'parent', queueName: name, data: {},
    children: [1, 2, 3].map((x) => ({ name: `child-${x}`, queueName: name, data: { x } })),
  });
  await parentDone.done;
  // The children's values are keyed by their job keys: report them by id.
  const childIds = Object.fromEntries(tree.children.map((c) => [`bull:${name}:${c.job.id}`, c.job.name]));
  const values = {};
  for (const [key, v] of Object.entries(parentSaw)) values[childIds[key] || key] = v;
  const parent = await queue.getJob(tree.job.id);
  return {
    childrenValues: values, parentResult,
    parentState: await parent.getState(),
    counts: await queue.getJobCounts('completed', 'failed', 'waiting', 'waiting-children', 'active'),
  };
}

// A flow two levels deep across two queues (root and mid in QUEUE_NAME,
// leaves in QUEUE_NAME-leaves), then a flow whose child fails with
// failParentOnFailure: its parent fails too, naming the child.
async function flowNested() {
  const leaves = `${name}-leaves`;
  const flows = track(new FlowProducer({ connection: connection(port) }));
  const queueEvents = track(new QueueEvents(name, { connection: connection(workerPort) }));
  await queueEvents.waitUntilReady();
  const upper = track(new Worker(name, async (job) => {
    const values = Object.values(await job.getChildrenValues());
    return { [job.name]: values };
  }, { connection: connection(workerPort), concurrency: 2 }));
  const lower = track(new Worker(leaves, async (job) => {
    if (job.data.fail) throw new Error('leaf refuses');
    return job.data.v;
  }, { connection: connection(workerPort) }));
  await upper.waitUntilReady();
  await lower.waitUntilReady();
  const tree = await flows.add({
    name: 'root', queueName: name, children: [
      { name: 'mid', queueName: name, children: [{ name: 'leaf-1', queueName: leaves, data: { v: 1 } }] },
      { name: 'leaf-2', queueName: leaves, data: { v: 2 } }],
  });
  const nested = await tree.job.waitUntilFinished(queueEvents, deadlineMs);
  nested.root.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const doomed = await flows.add({
    name: 'root', queueName: name, children: [
      { name: 'bad', queueName: leaves, data: { fail: true }, opts: { failParentOnFailure: true } }],
  });
  let parentFailure = null;
  try {
    await doomed.job.waitUntilFinished(queueEvents, deadlineMs);
  } catch (err) {
    parentFailure = err.message.replace(doomed.children[0].job.id, '<child>');
  }
  return { nested, parentFailure };
}

async function limiter() {
  const queue = track(new Queue(name, { connection: connection(port) }));
  const total = 12;
  const finished = countdown(total);
  const worker = track(new Worker(name, async (job) => ({ i: job.data.i }), {
    connection: connection(workerPort), concurrency: 4, limiter: { max: 5, duration: 1000 },
  }));
  worker.on('completed', () => finished.tick());
  await worker.waitUntilReady();
  const jobs = [];
  for (let i = 0; i < total; i++) jobs.push({ name: `limited-${i}`, data: { i } });
  await queue.addBulk(jobs);
  await finished.done;
  const done = await queue.getJobs(['completed'], 0, -1);
  return {
    processedOn: done.map((j) => j.processedOn).sort((a, b) => a - b),
    finishedOn: done.map((j) => j.finishedOn).sort((a, b) => a - b),
    counts: await queue.getJobCounts('completed', 'failed', 'waiting', 'active'),
  };
}

async function events() {
  const queue = track(new Queue(name, { connection: connection(port) }));
  const queueEvents = track(new QueueEvents(name, { connection: connection(workerPort) }));
  const heard = countdown(6);
  const completed = {};
  const failed = {};
  const progress = {};
  queueEvents.on('progress', ({ jobId, data }) => { progress[jobId] = data; heard.tick(); });
  queueEvents.on('completed', ({ jobId, returnvalue }) => { completed[jobId] = returnvalue; heard.tick(); });
  queueEvents.on('failed', ({ jobId, failedReason }) => { failed[jobId] = failedReason; heard.tick(); });
  await queueEvents.waitUntilReady();
  const worker = track(new Worker(name, async (job) => {
    if (job.data.fail) throw new Error(`${job.name} refuses`);
    await job.updateProgress({ half: job.data.x });
    return { echo: job.data.x };
  }, { connection: connection(workerPort), concurrency: 2 }));
  await worker.waitUntilReady();
  const ids = {};
  const added = [];
  for (const [jobName, data] of [['ok-1', { x: 1 }], ['ok-2', { x: 2 }], ['bad-1', { fail: true }],
    ['bad-2', { fail: true }]]) {
    const job = await queue.add(jobName, data);
    ids[job.id] = jobName;
    added.push(job);
  }
  // job.waitUntilFinished(queueEvents): the usual way to await a result;
  // it resolves with the return value or rejects with the failed reason.
  const waited = {};
  await Promise.all(added.map((job) => job.waitUntilFinished(queueEvents, deadlineMs).then(
    (value) => { waited[job.name] = { value }; },
    (err) => { waited[job.name] = { error: err.message }; })));
  await heard.done;
  const byName = (m) => Object.fromEntries(Object.entries(m).map(([id, v]) => [ids[id] || `?${id}`, v]));
  return { completed: byName(completed), failed: byName(failed), progress: byName(progress),
    waited };
}

const scenarios = { repeat, flow, 'flow-nested': flowNested, limiter, events };

async function main() {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown SCENARIO ${scenario}`);
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ timeout: true, scenario, errors }));
    process.exit(2);
  }, deadlineMs);
  const report = await run();
  clearTimeout(timer);
  for (const c of closers.reverse()) await c.close();
  console.log(JSON.stringify({ ...report, errors }));
  process.exit(0);
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String(err && err.stack || err), errors }));
  process.exit(1);
});
