// The core dockyard flow driven only through the official @northflank/js-client:
// project -> build service (create, patch, build a branch) -> manual job with a VCS
// deployment (re-point its build source, build a sha, run it) -> lists -> build and run
// logs (range and tail) -> abort a build and a run -> a cron job (create, PUT, PATCH,
// resume and suspend) -> delete job, service and project.
//
// Configuration (an argv flag --name=value wins over its env var):
//   --url=      DOCKYARD_URL, NORTHFLANK_API_BASE_URL or NF_API_HOST: dockyard's base URL
//   --token=    NORTHFLANK_API_TOKEN: an API token that may create projects
//   --repo=     FLOW_REPO_URL: a git repository with a Dockerfile at its root
//   --sha=      FLOW_SHA: a commit on `main` whose image has /hello.txt saying "hello v1"
//   --branch=   FLOW_BRANCH: another branch to build (default: feature)
//   --timeout=  FLOW_TIMEOUT: seconds to wait for each build, run or tail (default: 180)
//
// Prints one JSON line per step ({"step": ..., ...}), then {"step": "summary", "ok": true, ...}.
// On the first failure prints {"step": ..., "ok": false, "message": ...}, the message also on
// stderr, and exits 1.

import { ApiClient, ApiClientInMemoryContextProvider } from '@northflank/js-client';

const HELLO = 'hello v1'; // what /hello.txt holds at FLOW_SHA

class FlowError extends Error {
  constructor(step, message, detail) {
    super(`${step}: ${message}`);
    this.step = step;
    this.detail = detail;
  }
}

function readConfig(argv, env) {
  const flags = Object.fromEntries(
    argv
      .filter((arg) => arg.startsWith('--') && arg.includes('='))
      .map((arg) => [arg.slice(2, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]),
  );
  const config = {
    url: flags.url ?? env.DOCKYARD_URL ?? env.NORTHFLANK_API_BASE_URL ?? env.NF_API_HOST,
    token: flags.token ?? env.NORTHFLANK_API_TOKEN,
    repo: flags.repo ?? env.FLOW_REPO_URL,
    sha: flags.sha ?? env.FLOW_SHA,
    branch: flags.branch ?? env.FLOW_BRANCH ?? 'feature',
    timeout: Number(flags.timeout ?? env.FLOW_TIMEOUT ?? 180),
  };
  const missing = ['url', 'token', 'repo', 'sha'].filter((key) => !config[key]);
  if (missing.length > 0) {
    throw new FlowError('config', `missing ${missing.map((key) => `--${key}`).join(', ')}`);
  }
  // The client appends "/v1/..." to the host as is.
  config.url = config.url.replace(/\/+$/, '');
  return config;
}

let config; // set by main()
const summary = {};

function report(step, fields) {
  summary[step] = fields;
  console.log(JSON.stringify({ step, ...fields }));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Every call of the client resolves to {data, error, ...}: it does not throw on an HTTP error
// (throwErrorOnHttpErrorCode is off), so `error` is checked here, then whatever the step needs.
async function call(step, request, needs = () => true) {
  let response;
  try {
    response = await request();
  } catch (error) {
    throw new FlowError(step, `the client threw: ${error.message}`);
  }
  if (response.error) {
    const { status, message, details } = response.error;
    throw new FlowError(step, `HTTP ${status}: ${message}`, details);
  }
  if (!needs(response.data)) {
    throw new FlowError(step, 'the response lacks what this step needs', response.data);
  }
  return response.data;
}

// A call that must fail: its HTTP status.
async function statusOfFailing(step, request) {
  let response;
  try {
    response = await request();
  } catch (error) {
    throw new FlowError(step, `the client threw: ${error.message}`);
  }
  if (!response.error) {
    throw new FlowError(step, 'expected an error, got data', response.data);
  }
  return response.error.status;
}

// Poll `read` until `done(data)`, failing after the configured timeout.
async function until(step, read, done, needs) {
  const deadline = Date.now() + config.timeout * 1000;
  for (;;) {
    const data = await call(step, read, needs);
    if (done(data)) return data;
    if (Date.now() > deadline) {
      throw new FlowError(step, `not done after ${config.timeout} s`, data);
    }
    await sleep(200);
  }
}

const isBuild = (build) => typeof build?.id === 'string' && typeof build?.status === 'string';
const isRun = (run) => typeof run?.id === 'string' && typeof run?.status === 'string';
const concluded = (item) => item.concluded === true;
const isLines = (lines) =>
  Array.isArray(lines) &&
  lines.every((line) => typeof line.log === 'string' && !Number.isNaN(line.ts?.getTime?.()));

// A log tail (`open` returns the client's LogsClient). For a concluded build or run dockyard
// sends the lines so far and closes the socket, which is when start()'s promise settles;
// a socket still open at the deadline is a failure.
async function tail(step, open) {
  let logs;
  try {
    logs = await open();
  } catch (error) {
    throw new FlowError(step, `the client threw: ${error.message}`);
  }
  const lines = [];
  const errors = [];
  logs.on('logs-received', (batch) => lines.push(...batch.map((line) => line.log)));
  // Without a listener an 'error' event would be thrown out of the EventEmitter.
  logs.on('error', (error) => errors.push(error?.message ?? String(error)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    logs.stop().catch(() => {});
  }, config.timeout * 1000);
  try {
    await logs.start();
  } catch (error) {
    errors.push(error.message);
  } finally {
    clearTimeout(timer);
  }
  // A refused tail both emits 'error' and rejects start(), with the same message.
  if (errors.length > 0) {
    throw new FlowError(step, `tail failed: ${[...new Set(errors)].join('; ')}`);
  }
  if (timedOut) throw new FlowError(step, `the tail was still open after ${config.timeout} s`);
  return lines;
}

async function flow(api) {
  // ---- project ------------------------------------------------------------------------
  const project = await call(
    'create project',
    () => api.create.project({ data: { name: 'JS client flow', description: 'js conformance' } }),
    (data) => typeof data?.id === 'string',
  );
  const projectId = project.id;
  report('create project', { id: projectId, name: project.name });

  // ---- build service: create, patch, build a branch -------------------------------------
  const service = await call(
    'create build service',
    () =>
      api.create.service.build({
        parameters: { projectId },
        data: {
          name: 'js service',
          billing: { buildPlan: 'nf-compute-200-8' },
          vcsData: { projectUrl: config.repo, projectType: 'github' },
          buildSettings: { dockerfile: { dockerFilePath: '/Dockerfile', dockerWorkDir: '/' } },
        },
      }),
    (data) => typeof data?.id === 'string',
  );
  const serviceIds = { projectId, serviceId: service.id };
  report('create build service', { id: service.id, serviceType: service.serviceType });

  const patched = await call(
    'patch build service',
    () =>
      api.patch.service.build({
        parameters: serviceIds,
        data: { description: 'patched by the js client', disabledCI: true },
      }),
    (data) => data?.description === 'patched by the js client',
  );
  const readBack = await call('get build service', () =>
    api.get.service({ parameters: serviceIds }),
  );
  report('patch build service', {
    description: patched.description,
    disabledCI: readBack.disabledCI,
    serviceType: readBack.serviceType,
  });

  const started = await call(
    'start service build',
    () => api.start.service.build({ parameters: serviceIds, data: { branch: config.branch } }),
    isBuild,
  );
  const serviceBuild = await until(
    'service build',
    () => api.get.service.build({ parameters: { ...serviceIds, buildId: started.id } }),
    concluded,
    isBuild,
  );
  report('service build', {
    id: serviceBuild.id,
    startedStatus: started.status,
    status: serviceBuild.status,
    branch: serviceBuild.branch,
    sha: serviceBuild.sha,
    image: serviceBuild.registry?.uri,
  });
  if (serviceBuild.status !== 'SUCCESS') {
    throw new FlowError('service build', `ended ${serviceBuild.status}`, serviceBuild);
  }

  // ---- manual job from VCS: re-point its source, build a sha, run it ---------------------
  const job = await call(
    'create manual job',
    () =>
      api.create.job.manual({
        parameters: { projectId },
        data: {
          name: 'js job',
          billing: { deploymentPlan: 'nf-compute-20' },
          backoffLimit: 0,
          deployment: {
            // Starts on the other branch; `update job build source` moves it to main.
            vcs: { projectUrl: config.repo, projectType: 'github', projectBranch: config.branch },
            docker: { configType: 'customCommand', customCommand: 'cat /hello.txt' },
          },
          buildSettings: { dockerfile: { dockerFilePath: '/Dockerfile', dockerWorkDir: '/' } },
        },
      }),
    (data) => typeof data?.id === 'string',
  );
  const jobIds = { projectId, jobId: job.id };
  report('create manual job', { id: job.id, jobType: job.jobType });

  await call('update job build source', () =>
    api.update.job.buildSource({
      parameters: jobIds,
      data: { projectUrl: config.repo, projectType: 'github', projectBranch: 'main' },
    }),
  );
  const jobRead = await call(
    'get job',
    () => api.get.job({ parameters: jobIds }),
    (data) => data?.vcsData?.projectBranch !== undefined,
  );
  report('update job build source', { projectBranch: jobRead.vcsData.projectBranch });

  const jobStarted = await call(
    'start job build',
    () => api.start.job.build({ parameters: jobIds, data: { sha: config.sha } }),
    isBuild,
  );
  const jobBuild = await until(
    'job build',
    () => api.get.job.build({ parameters: { ...jobIds, buildId: jobStarted.id } }),
    concluded,
    isBuild,
  );
  report('job build', {
    id: jobBuild.id,
    status: jobBuild.status,
    sha: jobBuild.sha,
    branch: jobBuild.branch,
    image: jobBuild.registry?.uri,
  });
  if (jobBuild.status !== 'SUCCESS') {
    throw new FlowError('job build', `ended ${jobBuild.status}`, jobBuild);
  }

  const runStarted = await call(
    'start job run',
    () => api.start.job.run({ parameters: jobIds, data: {} }),
    (data) => typeof data?.id === 'string' && typeof data?.runName === 'string',
  );
  const run = await until(
    'job run',
    () => api.get.job.run({ parameters: { ...jobIds, runId: runStarted.id } }),
    concluded,
    isRun,
  );
  report('job run', {
    id: run.id,
    runName: runStarted.runName,
    status: run.status,
    succeeded: run.succeeded,
  });
  if (run.status !== 'SUCCESS') throw new FlowError('job run', `ended ${run.status}`, run);

  // ---- lists ------------------------------------------------------------------------------
  const serviceBuilds = await call(
    'list service builds',
    () => api.get.service.builds({ parameters: serviceIds }),
    (data) => Array.isArray(data?.builds),
  );
  const jobBuilds = await call(
    'list job builds',
    () => api.get.job.builds({ parameters: jobIds }),
    (data) => Array.isArray(data?.builds),
  );
  // `.all` walks the cursor until the server leaves it out: it must end.
  const runs = await call(
    'list job runs (all pages)',
    () => api.get.job.runs.all({ parameters: jobIds, options: { per_page: 1 } }),
    (data) => Array.isArray(data?.runs),
  );
  report('lists', {
    serviceBuilds: serviceBuilds.builds.map((build) => build.id),
    jobBuilds: jobBuilds.builds.map((build) => build.id),
    runs: runs.runs.map((item) => item.id),
  });

  // ---- logs: range reads, then tails of the concluded build and run ------------------------
  const hourAgo = new Date(Date.now() - 3600 * 1000);
  const serviceBuildLogs = await call(
    'service build logs',
    () =>
      api.logs.getServiceBuildLogs({
        parameters: serviceIds,
        options: { buildId: serviceBuild.id, lineLimit: 500 },
      }),
    isLines,
  );
  const jobBuildLogs = await call(
    'job build logs',
    () =>
      api.logs.getJobBuildLogs({
        parameters: jobIds,
        options: { buildId: jobBuild.id, startTime: hourAgo, direction: 'forward', lineLimit: 500 },
      }),
    isLines,
  );
  const runLogs = await call(
    'run logs',
    () =>
      api.logs.getJobLogs({
        parameters: jobIds,
        options: { runId: run.id, startTime: hourAgo, direction: 'forward', textIncludes: 'hello' },
      }),
    isLines,
  );
  report('range logs', {
    serviceBuildLines: serviceBuildLogs.length,
    jobBuildLines: jobBuildLogs.length,
    runLines: runLogs.map((line) => line.log),
  });

  const serviceBuildTail = await tail('tail service build logs', () =>
    api.logs.tailServiceBuildLogs({
      parameters: serviceIds,
      options: { buildId: serviceBuild.id, lineLimit: 5 },
    }),
  );
  const jobBuildTail = await tail('tail job build logs', () =>
    api.logs.tailJobBuildLogs({
      parameters: jobIds,
      options: { buildId: jobBuild.id, lineLimit: 5 },
    }),
  );
  const runTail = await tail('tail run logs', () =>
    api.logs.tailJobLogs({ parameters: jobIds, options: { runId: run.id, lineLimit: 100 } }),
  );
  report('tail logs', {
    serviceBuildLines: serviceBuildTail.length,
    jobBuildLines: jobBuildTail.length,
    runLines: runTail,
  });
  const saysHello = (text) => text.includes(HELLO);
  if (!runLogs.some((line) => saysHello(line.log)) || !runTail.some(saysHello)) {
    throw new FlowError('logs', `the run's output lacks "${HELLO}"`, { runLogs, runTail });
  }

  // ---- aborts -------------------------------------------------------------------------------
  const toAbort = await call(
    'start build to abort',
    () => api.start.service.build({ parameters: serviceIds, data: { branch: 'main' } }),
    isBuild,
  );
  await call('abort service build', () =>
    api.abort.service.build({ parameters: { ...serviceIds, buildId: toAbort.id } }),
  );
  const abortedBuild = await until(
    'aborted service build',
    () => api.get.service.build({ parameters: { ...serviceIds, buildId: toAbort.id } }),
    concluded,
    isBuild,
  );

  // A run that loops until stopped: the job's command is overridden for this run only.
  const longRun = await call(
    'start run to abort',
    () =>
      api.start.job.run({
        parameters: jobIds,
        data: {
          deployment: {
            docker: {
              configType: 'customEntrypointCustomCommand',
              customEntrypoint: 'sh',
              customCommand:
                `-c 'trap "exit 143" TERM; echo waiting; while true; do sleep 0.2; done'`,
            },
          },
        },
      }),
    (data) => typeof data?.id === 'string',
  );
  // Abort it once its container is up (it has printed), so the abort stops a live container.
  await until(
    'run to abort is up',
    () =>
      api.logs.getJobLogs({
        parameters: jobIds,
        options: { runId: longRun.id, textIncludes: 'waiting' },
      }),
    (lines) => lines.length > 0,
    isLines,
  );
  await call('abort job run', () =>
    api.abort.job.run({ parameters: { ...jobIds, runId: longRun.id } }),
  );
  const abortedRun = await until(
    'aborted job run',
    () => api.get.job.run({ parameters: { ...jobIds, runId: longRun.id } }),
    concluded,
    isRun,
  );
  report('aborts', { build: abortedBuild.status, run: abortedRun.status });

  // ---- cron job: created suspended (its schedule starts nothing), PUT, PATCHed, resumed and
  // suspended again ---------------------------------------------------------------------------
  const cronBody = {
    name: 'js cron',
    billing: { deploymentPlan: 'nf-compute-20' },
    backoffLimit: 0,
    deployment: { external: { imagePath: 'local/busybox:1' } },
    schedule: '30 8 * * *',
    suspended: true,
  };
  const cron = await call(
    'create cron job',
    () => api.create.job.cron({ parameters: { projectId }, data: cronBody }),
    (data) => data?.jobType === 'cron',
  );
  const cronIds = { projectId, jobId: cron.id };
  const cronPut = await call('put cron job', () =>
    api.put.job.cron({ parameters: { projectId }, data: { ...cronBody, schedule: '@hourly' } }),
  );
  const cronPatched = await call('patch cron job', () =>
    api.patch.job.cron({ parameters: cronIds, data: { concurrencyPolicy: 'forbid' } }),
  );
  await call('resume cron job', () =>
    api.suspend.job({ parameters: cronIds, data: { suspended: false } }),
  );
  const resumed = await call('get resumed cron job', () => api.get.job({ parameters: cronIds }));
  await call('suspend cron job', () =>
    api.suspend.job({ parameters: cronIds, data: { suspended: true } }),
  );
  const cronRead = await call('get cron job', () => api.get.job({ parameters: cronIds }));
  report('cron job', {
    sameId: cronPut.id === cron.id,
    schedule: cronRead.settings?.cron?.schedule,
    concurrencyPolicy: cronPatched.concurrencyPolicy,
    resumed: resumed.suspended,
    suspended: cronRead.suspended,
  });
  await call('delete cron job', () => api.delete.job({ parameters: cronIds }));

  // ---- deletes: each resource then reads as 404 ------------------------------------------------
  await call('delete job', () => api.delete.job({ parameters: jobIds }));
  const jobGone = await statusOfFailing('get deleted job', () =>
    api.get.job({ parameters: jobIds }),
  );
  await call('delete service', () => api.delete.service({ parameters: serviceIds }));
  const serviceGone = await statusOfFailing('get deleted service', () =>
    api.get.service({ parameters: serviceIds }),
  );
  await call('delete project', () => api.delete.project({ parameters: { projectId } }));
  const projectGone = await statusOfFailing('get deleted project', () =>
    api.get.project({ parameters: { projectId } }),
  );
  report('deletes', { job: jobGone, service: serviceGone, project: projectGone });
}

async function main() {
  try {
    config = readConfig(process.argv.slice(2), process.env);
    const contextProvider = new ApiClientInMemoryContextProvider();
    contextProvider.addContext({ name: 'dockyard', token: config.token, host: config.url });
    await flow(new ApiClient(contextProvider));
  } catch (error) {
    const step = error instanceof FlowError ? error.step : 'unexpected';
    console.log(JSON.stringify({ step, ok: false, message: error.message, detail: error.detail }));
    console.error(`js-client flow failed at ${error.message}`);
    process.exit(1);
  }
  console.log(JSON.stringify({ step: 'summary', ok: true, ...summary }));
}

main();
