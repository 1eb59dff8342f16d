// The service worker of the inspector's phone: keeps the app shell and the
// pages an inspector needs in the field (home, station list, each station
// and its visit form) for use without a connection, and sends queued
// visits when Background Sync says the connection is back.
importScripts('/static/queue.js');

var SHELL = 'bayige-shell-v1';
var PAGES = 'bayige-pages-v1';
var SHELL_URLS = ['/static/app.css', '/static/app.js', '/static/queue.js', '/static/icon.svg', '/manifest.webmanifest'];
// Pages kept for offline use (GET, same origin); nothing else is stored.
var KEPT = [/^\/$/, /^\/stations$/, /^\/stations\/\d+$/, /^\/stations\/\d+\/visit$/, /^\/guidance$/, /^\/queue$/,
  /^\/api\/standards(\/[^/]+)?$/, /^\/api\/stations\/\d+\/(visit-template|checklist)$/];
var OFFLINE = '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">' +
  '<meta name="viewport" content="width=device-width, initial-scale=1"><title>当前离线</title>' +
  '<link rel="stylesheet" href="/static/app.css"></head><body><main><h1>当前离线</h1>' +
  '<p>这个页面还没有保存在本机。请联网后再打开；已保存的服务站和检查表仍可使用。</p>' +
  '<p><a href="/">返回首页</a></p></main></body></html>';

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(SHELL_URLS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== SHELL && k !== PAGES; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function kept(url) {
  return url.origin === self.location.origin && KEPT.some(function (re) { return re.test(url.pathname); });
}

// Network first; what came back whole is kept for next time; without a
// network, the kept copy (or a page saying the phone is offline).
function networkFirst(req) {
  return fetch(req).then(function (res) {
    if (res.ok && !res.redirected && res.type === 'basic') {
      var copy = res.clone();
      caches.open(PAGES).then(function (c) { return c.put(req.url, copy); });
    }
    return res;
  }, function () {
    return caches.match(req.url, { ignoreVary: true }).then(function (hit) {
      if (hit) return hit;
      if (req.mode === 'navigate') {
        return new Response(OFFLINE, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
      }
      return Response.error();
    });
  });
}

self.addEventListener('fetch', function (e) {
  var req = e.request;
  if (req.method !== 'GET') return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL_URLS.indexOf(url.pathname) >= 0) {
    // The shell: the network when there is one (a new release), else the copy.
    e.respondWith(fetch(req).then(function (res) {
      if (res.ok) { var copy = res.clone(); caches.open(SHELL).then(function (c) { return c.put(url.pathname, copy); }); }
      return res;
    }, function () { return caches.match(url.pathname); }));
    return;
  }
  if (url.search === '' && kept(url)) {
    e.respondWith(networkFirst(req));
  } else if (req.mode === 'navigate') {
    // Any other page: from the network, never kept; without one, say so.
    e.respondWith(fetch(req).catch(function () {
      return new Response(OFFLINE, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
    }));
  }
});

// How long a page kept for the field counts as fresh.
var FRESH_MS = 30 * 60 * 1000;

self.addEventListener('message', function (e) {
  var data = e.data || {};
  if (data.type === 'keep' && Array.isArray(data.urls)) {
    // Stations of the inspector's own units, for the field.
    // At most 300 stations (the server lists them newest first) with
    // their visit forms, plus the station list: four requests at a time.
    var source = e.source;
    var todo = data.urls.slice(0, 2 * 300 + 1);
    var stations = 0;
    e.waitUntil(caches.open(PAGES).then(function (c) {
      function one(u) {
        var url = new URL(u, self.location.origin);
        if (!kept(url)) return Promise.resolve();
        var form = /\/visit$/.test(url.pathname);
        // A page kept less than half an hour ago (by the Date the server
        // sent with it) is not fetched again: opening the home page
        // repeatedly does not send hundreds of requests each time.
        return c.match(url.href).then(function (old) {
          var at = old ? Date.parse(old.headers.get('Date') || '') : NaN;
          if (at && Date.now() - at < FRESH_MS) {
            if (form) stations += 1;
            return null;
          }
          return fetch(url.href, { credentials: 'same-origin' }).then(function (res) {
            if (!res.ok || res.redirected) return null;
            return c.put(url.href, res).then(function () {
              if (form) stations += 1;
            });
          });
        }).catch(function () { return null; });
      }
      function worker() {
        var next = todo.shift();
        return next === undefined ? Promise.resolve() : one(next).then(worker);
      }
      return Promise.all([worker(), worker(), worker(), worker()]);
    }).then(function () {
      if (data.report && source) source.postMessage({ type: 'kept', stations: stations });
    }));
  } else if (data.type === 'forget') {
    // Another user signs in on this phone: the pages kept were the last
    // user's.
    e.waitUntil(caches.delete(PAGES));
  }
});

// Background Sync: every entry is sent with the CSRF token of the session
// it was queued in; a visit of a user whose session has ended stays.
self.addEventListener('sync', function (e) {
  if (e.tag !== 'bayige-visits') return;
  e.waitUntil(self.BayigeQueue.entries === undefined ? Promise.resolve() : sendAll());
});

function sendAll() {
  return new Promise(function (resolve) {
    var req = indexedDB.open('bayige-queue', 1);
    req.onupgradeneeded = function () { req.result.createObjectStore('visits', { keyPath: 'id' }); };
    req.onsuccess = function () {
      var db = req.result;
      var all = db.transaction('visits').objectStore('visits').getAll();
      all.onsuccess = function () {
        db.close();
        var users = {};
        (all.result || []).forEach(function (en) { users[en.user] = true; });
        Object.keys(users).reduce(function (chain, user) {
          return chain.then(function () { return self.BayigeQueue.flush(user, null); });
        }, Promise.resolve()).then(resolve, resolve);
      };
      all.onerror = function () { db.close(); resolve(); };
    };
    req.onerror = function () { resolve(); };
  }).then(function () {
    return self.clients.matchAll().then(function (cs) { cs.forEach(function (c) { c.postMessage({ type: 'queue-changed' }); }); });
  });
}
