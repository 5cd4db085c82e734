// Preloaded into node (NODE_OPTIONS=--require) by tests/conformance/test_northflank_cli.py:
// a TCP connection to any host but the loopback address fails before any DNS lookup (the
// socket errors as a refused connection would), and its host is appended to the file named
// by LOOPBACK_ONLY_LOG, so the test can assert that the official CLI (whose update check asks
// registry.npmjs.org) reached nothing but the dockyard under test.

const fs = require('fs');
const net = require('net');

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const connect = net.Socket.prototype.connect;

function hostOf(args) {
  // connect(options[, cb]), connect(port[, host][, cb]), or net's own [options, cb] array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) {
    // A path (a string) is a Unix socket; http's agents pass `path: null` for TCP.
    return typeof first.path === 'string' ? null : (first.host ?? 'localhost');
  }
  return typeof args[1] === 'string' ? args[1] : 'localhost';
}

net.Socket.prototype.connect = function loopbackOnlyConnect(...args) {
  const host = hostOf(args);
  if (host === null || LOOPBACK.has(host)) return connect.apply(this, args);
  if (process.env.LOOPBACK_ONLY_LOG) fs.appendFileSync(process.env.LOOPBACK_ONLY_LOG, `${host}\n`);
  process.nextTick(() => this.destroy(new Error(`loopback-only: refused a connection to ${host}`)));
  return this;
};
