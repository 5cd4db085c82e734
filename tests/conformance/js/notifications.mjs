// The team's notification integrations driven only through the official
// @northflank/js-client: create (restricted to a project), list, get, update (lift the
// restriction), delete, then the integration is 404.
//
// Configuration: DOCKYARD_URL (dockyard's base URL) and NORTHFLANK_API_TOKEN (a token for the
// whole account). Prints one JSON line, {"ok": true, ...} or {"ok": false, "message": ...}.

import { ApiClient, ApiClientInMemoryContextProvider } from '@northflank/js-client';

async function call(step, request) {
  const response = await request();
  if (response.error) {
    const { status, message } = response.error;
    throw new Error(`${step}: HTTP ${status}: ${message}`);
  }
  return response.data;
}

async function flow(api) {
  const project = await call('create project', () =>
    api.create.project({ data: { name: 'JS Notifications' } }),
  );
  const created = await call('create notification', () =>
    api.create.notification({
      data: {
        name: 'JS Alerts',
        type: 'RAW_WEBHOOK',
        webhook: 'http://127.0.0.1:9/hook',
        secret: 'js-notification-secret',
        events: { 'trigger:build:failure': true },
        projects: [project.id],
      },
    }),
  );
  const parameters = { notificationId: created.id };
  const listed = await call('list notifications', () => api.list.notifications({}));
  const got = await call('get notification', () => api.get.notification({ parameters }));
  await call('update notification', () =>
    api.update.notification({ parameters, data: { name: 'JS Alerts Renamed', restricted: false } }),
  );
  const updated = await call('get updated', () => api.get.notification({ parameters }));
  await call('delete notification', () => api.delete.notification({ parameters }));
  const gone = await api.get.notification({ parameters });
  return {
    project: project.id,
    created: { id: created.id, restricted: created.restricted, projects: created.projects },
    listed: listed.notificationIntegrations.map((item) => item.id),
    got: { name: got.name, hasSecret: 'secret' in got },
    updated: { name: updated.name, restricted: updated.restricted, projects: updated.projects },
    goneStatus: gone.error?.status,
  };
}

try {
  const contextProvider = new ApiClientInMemoryContextProvider();
  const host = process.env.DOCKYARD_URL.replace(/\/+$/, '');
  contextProvider.addContext({ name: 'dockyard', token: process.env.NORTHFLANK_API_TOKEN, host });
  console.log(JSON.stringify({ ok: true, ...(await flow(new ApiClient(contextProvider))) }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, message: error.message }));
  process.exit(1);
}
