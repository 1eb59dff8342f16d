// The device's queue of visits waiting to be uploaded (IndexedDB, photos
// as blobs), shared by the pages (app.js) and the service worker (sw.js).
// An entry leaves the queue only when the server has confirmed the visit
// (201, or 200 for a repeat of the same Idempotency-Key).
(function (root) {
  var DB_NAME = 'bayige-queue';
  var STORE = 'visits';

  function open() {
    return new Promise(function (resolve, reject) {
      var req = root.indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: 'id' }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  // Runs fn(store) in one transaction; resolves with the result of the
  // request fn returns (if any) once the transaction has committed.
  function run(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var req = fn(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        t.onerror = function () { db.close(); reject(t.error); };
        t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }

  // Every entry of `user` (entries belong to the user who queued them; a
  // second user on the same phone neither sees nor sends them).
  function entries(user) {
    return run('readonly', function (s) { return s.getAll(); }).then(function (all) {
      return (all || []).filter(function (e) { return e.user === user; })
        .sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
    });
  }

  function put(entry) { return run('readwrite', function (s) { return s.put(entry); }); }
  function remove(id) { return run('readwrite', function (s) { return s.delete(id); }); }

  // Sends one entry: the visit JSON and its photos in one multipart
  // request, keyed by the entry's id. Resolves with what happened:
  // 'sent' (removed from the queue; `visit` is the server's answer),
  // 'signin' (the session ended: kept), 'rejected' (the server refused
  // the content: kept with its errors for the inspector), 'offline'
  // (no answer, or the server could not take it now: kept).
  function send(entry, csrf) {
    var body = new FormData();
    body.append('visit', JSON.stringify(entry.visit));
    entry.photos.forEach(function (p) { body.append('photo_' + p.code, p.blob, p.name); });
    return fetch(entry.url, {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: { 'Idempotency-Key': entry.id, 'X-CSRF-Token': csrf || entry.csrf || '', 'Accept': 'application/json' }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (answer) {
        if (r.status === 200 || r.status === 201) {
          return remove(entry.id).then(function () { return { outcome: 'sent', visit: answer }; });
        }
        var error = (answer && answer.error) || {};
        if (r.status === 401 || (r.status === 403 && /CSRF|登录/.test(error.message || ''))) {
          entry.state = 'signin';
          entry.message = '登录已过期，请重新登录后上传';
          return put(entry).then(function () { return { outcome: 'signin' }; });
        }
        if (r.status === 408 || r.status === 429 || r.status >= 500) {
          return { outcome: 'offline' };
        }
        entry.state = 'rejected';
        entry.message = error.message || '服务器未接受这条检查记录';
        entry.errors = error.fields || {};
        return put(entry).then(function () { return { outcome: 'rejected', errors: entry.errors, message: entry.message }; });
      });
    }, function () { return { outcome: 'offline' }; });
  }

  var flushing = null;
  // Sends every entry of `user` that may go now, one after another.
  function flush(user, csrf) {
    if (flushing) return flushing;
    flushing = entries(user).then(function (list) {
      var sent = [];
      return list.reduce(function (chain, entry) {
        return chain.then(function (stop) {
          if (stop || entry.state === 'rejected') return stop;
          return send(entry, csrf).then(function (r) {
            if (r.outcome === 'sent') sent.push({ entry: entry, visit: r.visit });
            return r.outcome === 'offline' || r.outcome === 'signin';
          });
        });
      }, Promise.resolve(false)).then(function () { return sent; });
    }).then(function (sent) { flushing = null; return sent; }, function (e) { flushing = null; throw e; });
    return flushing;
  }

  root.BayigeQueue = { entries: entries, put: put, remove: remove, send: send, flush: flush };
})(self);
