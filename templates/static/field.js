// Field capture on the inspector's phone: the service worker, the visit
// queue (see queue.js), the count of visits waiting in the header, and
// the visit form sent through the queue.
(function () {
  var user = document.body.getAttribute('data-user');
  var Q = window.BayigeQueue;
  var canQueue = !!(Q && window.indexedDB && window.fetch && window.FormData && window.Promise);

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      if (!user && document.getElementById('username') && reg.active) {
        // The sign-in page: pages kept for the last user are not the next one's.
        reg.active.postMessage({ type: 'forget' });
      }
      var urls = [];
      function keep(href) {
        if (urls.indexOf(href) < 0) urls.push(href, href + '/visit');
      }
      document.querySelectorAll('a[data-offline]').forEach(function (a) { keep(a.getAttribute('href')); });
      // The inspector's home: the station list and every station of the
      // inspector's units (newest first, bounded by the server), with its
      // visit form, kept on the phone in the background.
      var home = document.querySelector('[data-keep-stations]');
      if (home && navigator.onLine !== false) {
        urls.unshift('/stations');
        home.getAttribute('data-keep-stations').split(',').filter(Boolean).forEach(function (id) { keep('/stations/' + id); });
        home.hidden = false;
        home.textContent = '正在把本单位的服务站保存到本机，供离线使用……';
      }
      if (urls.length && reg.active) reg.active.postMessage({ type: 'keep', urls: urls, report: !!home });
    }).catch(function () {});
    navigator.serviceWorker.addEventListener('message', function (e) {
      if (e.data && e.data.type === 'queue-changed') refresh();
      var shown = document.querySelector('[data-keep-stations]');
      if (e.data && e.data.type === 'kept' && shown) {
        shown.textContent = '已在本机保存 ' + e.data.stations + ' 个服务站及其检查表，离线时可打开和记录。';
        shown.setAttribute('data-kept', String(e.data.stations));
      }
    });
  }
  if (!user || !canQueue) return;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }

  var badge = document.querySelector('[data-queue-count]');
  function refresh() {
    return Q.entries(user).then(function (list) {
      window.bayigeQueued = list.length;
      if (badge) {
        badge.textContent = '待上传 ' + list.length;
        badge.hidden = list.length === 0;
      }
      document.querySelectorAll('[data-queue-total]').forEach(function (el) { el.textContent = list.length; });
      document.querySelectorAll('[data-queue-summary]').forEach(function (el) { el.hidden = list.length === 0; });
      var shown = document.getElementById('queue-list');
      if (shown) showQueue(shown, list);
      return list;
    }).catch(function () { return []; });
  }

  function showQueue(ul, list) {
    ul.textContent = '';
    var empty = document.getElementById('queue-empty');
    if (empty) empty.hidden = list.length > 0;
    list.forEach(function (en) {
      var li = document.createElement('li');
      var title = document.createElement('strong');
      title.textContent = en.station_name + '（' + en.visit.visited_on + '）';
      li.appendChild(title);
      var state = document.createElement('p');
      state.className = en.state === 'rejected' ? 'field-error' : 'muted';
      state.textContent = en.state === 'rejected' ? '被退回：' + en.message
        : en.state === 'signin' ? en.message : '待上传，照片 ' + en.photos.length + ' 张';
      li.appendChild(state);
      if (en.state === 'signin') {
        var a = document.createElement('a');
        a.href = '/login?next=' + encodeURIComponent(location.pathname);
        a.textContent = '重新登录';
        li.appendChild(a);
      }
      if (en.state === 'rejected') {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'secondary';
        b.textContent = '从本机删除';
        b.addEventListener('click', function () {
          if (window.confirm('删除后这条检查记录将不会上传。确定删除吗？')) Q.remove(en.id).then(refresh);
        });
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
  }

  var sending = false;
  function flush() {
    if (sending) return Promise.resolve([]);
    sending = true;
    return Q.flush(user, csrf()).then(function (sent) {
      sending = false;
      return refresh().then(function () { return sent; });
    }, function () { sending = false; return []; });
  }

  window.addEventListener('online', function () { flush().then(afterFlush); });
  refresh().then(function (list) { if (list.length) flush().then(afterFlush); });

  // ---- The visit form ----
  var form = document.querySelector('form[data-keep][data-station]');
  var current = null;
  function afterFlush(sent) {
    if (!form || !current) return;
    sent.forEach(function (s) {
      if (s.entry.id === current) done(s.visit);
    });
  }
  if (!form) return;
  var sid = form.getAttribute('data-station');
  var keyField = form.querySelector('[name="idempotency_key"]');
  var status = document.getElementById('queue-status');
  var summary = document.getElementById('error-summary');

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }
  // A page kept by the service worker is opened again for the next visit:
  // each visit gets its own key.
  keyField.value = newKey();

  var items = Array.prototype.slice.call(form.querySelectorAll('fieldset.item'));
  function failing(fs) {
    var r = fs.querySelector('input[type=radio]:checked');
    return !!r && (r.value === 'partial' || r.value === 'unmet');
  }
  function toggle(fs) {
    var fu = fs.querySelector('.follow-up');
    if (fu) fu.hidden = !failing(fs);
  }
  items.forEach(function (fs) {
    toggle(fs);
    fs.addEventListener('change', function () { toggle(fs); });
  });
  var allMet = form.querySelector('[data-all-met]');
  if (allMet) {
    allMet.hidden = false;
    allMet.addEventListener('click', function () {
      items.forEach(function (fs) {
        var met = fs.querySelector('input[type=radio][value="met"]');
        if (met) met.checked = true;
        toggle(fs);
      });
      form.dispatchEvent(new Event('input'));
    });
  }

  function field(name) {
    var el = form.querySelector('[name="' + name + '"]');
    return el ? el.value : '';
  }

  // The visit as the API takes it (instruction and due date only for
  // items answered 基本符合 or 不符合).
  function visitOf() {
    return {
      kind: field('kind'),
      visited_on: field('visited_on') || null,
      summary: field('summary'),
      items: items.map(function (fs) {
        var code = fs.getAttribute('data-code');
        var r = fs.querySelector('input[type=radio]:checked');
        var item = { code: code, result: r ? r.value : null, note: field('note_' + code) };
        if (failing(fs)) {
          item.instruction = field('instruction_' + code);
          item.due_on = field('due_on_' + code) || null;
        }
        return item;
      })
    };
  }

  // A photo downscaled on the phone: long edge at most 1600 px, JPEG, the
  // camera's orientation applied. Anything else goes as it is (the server
  // checks it either way).
  function shrink(file) {
    var plain = Promise.resolve({ blob: file, name: file.name });
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) return plain;
    return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bmp) {
      var scale = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
      var canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(bmp.width * scale));
      canvas.height = Math.max(1, Math.round(bmp.height * scale));
      canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
      if (bmp.close) bmp.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || (blob.size >= file.size && scale === 1)) resolve({ blob: file, name: file.name });
          else resolve({ blob: blob, name: file.name.replace(/\.[^.]*$/, '') + '.jpg' });
        }, 'image/jpeg', 0.85);
      });
    }).catch(function () { return plain; });
  }

  function photos() {
    return Promise.all(items.map(function (fs) {
      var input = fs.querySelector('input[type=file]');
      var file = input && input.files && input.files[0];
      if (!file) return null;
      return shrink(file).then(function (p) { p.code = fs.getAttribute('data-code'); return p; });
    })).then(function (list) { return list.filter(Boolean); });
  }

  function say(text) {
    status.textContent = text;
    status.hidden = false;
    if (status.scrollIntoView) status.scrollIntoView({ block: 'center' });
  }

  function clearErrors() {
    form.querySelectorAll('.field-error[data-client]').forEach(function (p) { p.remove(); });
    items.forEach(function (fs) { fs.classList.remove('invalid'); });
    summary.hidden = true;
  }

  // The server's refusal, beside each field and in a summary at the top
  // that links to each; focus moves to the summary.
  function showErrors(fields, message) {
    clearErrors();
    form.querySelectorAll('.field-error').forEach(function (p) { p.remove(); });
    var ul = summary.querySelector('ul');
    ul.textContent = '';
    var names = { kind: '检查类型', visited_on: '检查日期', summary: '检查小结', items: '检查项目' };
    var count = 0;
    Object.keys(fields || {}).forEach(function (key) {
      var m = /^items\[(\d+)\]/.exec(key);
      var p = /^photo_(.+)$/.exec(key);
      var fs = m ? items[Number(m[1])] : p ? document.getElementById('item-' + p[1]) : null;
      var target = fs || form.querySelector('[name="' + key + '"]') || document.getElementById('kind');
      var label = fs ? fs.querySelector('legend').textContent : (names[key] || '检查记录');
      (fields[key] || []).forEach(function (msg) {
        count++;
        var err = document.createElement('p');
        err.className = 'field-error';
        err.setAttribute('data-client', '');
        err.textContent = msg;
        if (fs) { fs.classList.add('invalid'); fs.appendChild(err); } else target.insertAdjacentElement('afterend', err);
        var li = document.createElement('li');
        var a = document.createElement('a');
        a.href = '#' + (fs ? fs.id : target.id);
        a.textContent = label + '：' + msg;
        li.appendChild(a);
        ul.appendChild(li);
      });
    });
    summary.querySelector('h2').textContent = '提交未成功，请修改以下' + (count || '') + '项';
    var note = summary.querySelector('p');
    if (note) note.remove();
    if (!count && message) {
      var li = document.createElement('li');
      li.textContent = message;
      ul.appendChild(li);
    }
    summary.setAttribute('role', 'alert');
    summary.hidden = false;
    summary.focus();
  }

  function done(visit) {
    try { localStorage.removeItem(form.bayigeDraftKey); } catch (e) {}
    location.assign('/stations/' + sid + '?ok=visit&visit=' + visit.id);
  }

  // The phone's position, only when the inspector ticks 记录现场位置 (the
  // box shows only where the browser can locate). A refusal, an error or
  // no answer within 10 s records the visit without it, saying so.
  var geoBox = form.querySelector('[data-geo]');
  var geoInput = geoBox && geoBox.querySelector('input');
  if (geoBox && navigator.geolocation) geoBox.hidden = false;
  function place() {
    if (!geoInput || !geoInput.checked || !navigator.geolocation) return Promise.resolve({});
    say('正在获取现场位置……');
    return new Promise(function (resolve) {
      var settled = false;
      function end(v) { if (!settled) { settled = true; resolve(v); } }
      setTimeout(function () { end({ missed: '获取现场位置超时' }); }, 10000);
      try {
        navigator.geolocation.getCurrentPosition(function (p) {
          end({ location: { latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: p.coords.accuracy } });
        }, function (e) {
          end({ missed: e && e.code === 1 ? '未获准使用位置' : '无法获取现场位置' });
        }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
      } catch (e) {
        end({ missed: '无法获取现场位置' });
      }
    });
  }

  var button = form.querySelector('button[type=submit]');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    say('正在保存……');
    var capturedAt = new Date().toISOString();
    var missed = '';
    place().then(function (geo) {
      missed = geo.missed ? geo.missed + '，本次记录不含现场位置。' : '';
      return photos().then(function (list) { return { list: list, geo: geo }; });
    }).then(function (got) {
      var list = got.list;
      var visit = visitOf();
      visit.captured_at = capturedAt;
      if (got.geo.location) visit.location = got.geo.location;
      var entry = {
        id: keyField.value,
        user: user,
        station: sid,
        station_name: form.getAttribute('data-station-name'),
        url: '/api/stations/' + sid + '/visits',
        visit: visit,
        photos: list,
        csrf: csrf(),
        state: 'queued',
        queued_at: new Date().toISOString()
      };
      current = entry.id;
      return Q.put(entry).then(function () {
        refresh();
        if (navigator.serviceWorker && window.SyncManager) {
          navigator.serviceWorker.ready.then(function (reg) { return reg.sync.register('bayige-visits'); }).catch(function () {});
        }
        say(missed + '正在上传……');
        return Q.send(entry, csrf());
      });
    }).then(function (r) {
      if (r.outcome === 'sent') return done(r.visit);
      if (r.outcome === 'rejected') {
        // The inspector is here to put it right: the form keeps everything.
        return Q.remove(current).then(function () {
          current = null;
          button.disabled = false;
          status.hidden = true;
          refresh();
          showErrors(r.errors, r.message);
        });
      }
      try { localStorage.removeItem(form.bayigeDraftKey); } catch (e) {}
      refresh();
      say(missed + (r.outcome === 'signin'
        ? '已保存在本机，待上传。登录已过期：请重新登录，登录后将自动上传。'
        : '已保存在本机，待上传。联网后将自动上传，请勿删除本机数据。'));
    }).catch(function () {
      button.disabled = false;
      say('无法保存在本机，请直接提交。');
      form.submit();
    });
  });
})();
