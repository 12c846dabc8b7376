// A stand-in for @aws-amplify/backend (and any other package a resource
// file imports) that records what the file declares instead of building
// it. Every builder call (a.model({...}), .authorization(cb),
// allow.owner().identityClaim('sub'), index('f').sortKeys([...])) becomes
// a node {ctor, args, calls}; callbacks are called with the same recording
// factory so their results are recorded too. Nothing here reads a file,
// the network or the clock.
(function () {
  'use strict';
  function node(ctor, args) {
    const rec = { ctor: ctor, args: args, calls: [] };
    const proxy = new Proxy(rec, {
      get: function (target, name) {
        if (name === '__pmNode') return rec;
        if (typeof name === 'symbol' || name === 'then' || name === 'toJSON') return undefined;
        return function () {
          rec.calls.push({ name: name, args: Array.prototype.slice.call(arguments) });
          return proxy;
        };
      },
    });
    return proxy;
  }
  // factory(...) and factory.x(...) both start a node: `a.string()`,
  // `allow.owner()`, `index('field')`, `defineData({...})`.
  function factory(prefix) {
    return new Proxy(function () {}, {
      apply: function (_t, _this, args) {
        return node(prefix, Array.prototype.slice.call(args));
      },
      get: function (_t, name) {
        if (typeof name === 'symbol' || name === 'then') return undefined;
        if (name === '__esModule') return true;
        return factory(prefix ? prefix + '.' + name : name);
      },
    });
  }
  const backend = factory('');
  function serialize(v, depth) {
    if (depth > 60) return null;
    if (v === null || v === undefined) return null;
    if (typeof v === 'function') {
      let out;
      try {
        out = v(backend, backend, backend);
      } catch (e) {
        return { error: String(e) };
      }
      return serialize(out, depth + 1);
    }
    if (typeof v !== 'object') return v;
    if (v.__pmNode) {
      const n = v.__pmNode;
      return {
        ctor: n.ctor,
        args: n.args.map(function (a) { return serialize(a, depth + 1); }),
        calls: n.calls.map(function (c) {
          return { name: c.name, args: c.args.map(function (a) { return serialize(a, depth + 1); }) };
        }),
      };
    }
    if (Array.isArray(v)) return v.map(function (a) { return serialize(a, depth + 1); });
    // An object keeps its keys' order (models and fields are reported in
    // the order they are declared).
    return {
      entries: Object.keys(v).map(function (k) {
        return [k, serialize(v[k], depth + 1)];
      }),
    };
  }
  return {
    require: function (name) {
      return backend;
    },
    serialize: function (exportsObj) {
      return JSON.stringify(serialize(exportsObj, 0));
    },
  };
})()
